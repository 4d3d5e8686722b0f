"""Default list entries and the built-in field catalogue, loaded by data migrations."""

STATUSES = [
    # key, label, description, colour (WCAG AA contrast against white text)
    ("prospect", "Prospect", "A new lead, not yet contacted.", "#1d4ed8"),
    ("tentative", "Tentative", "Contacted; interest not yet confirmed.", "#a16207"),
    ("potential", "Potential", "Interested and qualified.", "#7e22ce"),
    ("contact", "Contact", "In active conversation.", "#0f766e"),
    ("customer", "Customer", "Bought from us.", "#15803d"),
    ("closed", "Closed", "No further follow-up.", "#4b5563"),
    ("deleted", "Deleted", "Removed from lists; an administrator can restore it.", "#b91c1c"),
]

# The JSON-RPC API's leadStatus for each status (SharpSpring's values); editable in the admin.
RPC_STATUSES = {
    "prospect": "open",
    "tentative": "unqualified",
    "potential": "qualified",
    "contact": "contact",
    "customer": "contactWithOpp",
    "closed": "unqualified",
}

SOURCES = [
    ("website", "Website"),
    ("referral", "Referral"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("social", "Social media"),
    ("event", "Event"),
    ("advertisement", "Advertisement"),
    ("partner", "Partner"),
    ("import", "Import"),
    ("other", "Other"),
]

# Built-in lead fields as the JSON-RPC API names them: (system name, label, data type, length).
BUILTIN_FIELDS = [
    ("id", "ID", "number", 20),
    ("accountID", "Account ID", "number", 20),
    ("ownerID", "Owner", "number", 20),
    ("campaignID", "Campaign", "number", 20),
    ("leadStatus", "Lead status", "picklist", 32),
    ("leadScore", "Lead score", "number", 6),
    ("leadScoreWeighted", "Weighted lead score", "number", 6),
    ("persona", "Persona", "text", 128),
    ("active", "Active", "boolean", 1),
    ("firstName", "First name", "text", 50),
    ("lastName", "Last name", "text", 50),
    ("emailAddress", "Email", "email", 150),
    ("companyName", "Company", "text", 100),
    ("title", "Title", "text", 255),
    ("street", "Street", "text", 255),
    ("city", "City", "text", 255),
    ("country", "Country", "text", 255),
    ("state", "State", "text", 50),
    ("zipcode", "Zip code", "text", 50),
    ("website", "Website", "url", 255),
    ("phoneNumber", "Phone", "phone", 255),
    ("trackingID", "Tracking ID", "text", 255),
    ("officePhoneNumber", "Office phone", "phone", 255),
    ("phoneNumberExtension", "Phone extension", "text", 255),
    ("mobilePhoneNumber", "Mobile phone", "phone", 255),
    ("faxNumber", "Fax", "phone", 255),
    ("description", "Description", "textarea", 65535),
    ("industry", "Industry", "text", 255),
    ("isUnsubscribed", "Unsubscribed", "boolean", 1),
    ("updateTimestamp", "Updated", "datetime", 19),
]
