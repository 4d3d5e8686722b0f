from tests.conftest import error_of


def test_create_view_and_list_a_lead(api):
    created = api.post(
        "create/lead/",
        {
            "first_name": "Lead",
            "last_name": "One",
            "email": "one@example.com",
            "phone": "5551234567",
        },
    )
    assert created.status_code == 201, created.json()
    slug = created.json()["data"]["slug"]
    viewed = api.get("view/lead/", {"slug": slug})
    assert viewed.json()["data"]["email"] == "one@example.com"
    listed = api.get("list/", {"list_type": "all"})
    assert [r["slug"] for r in listed.json()["data"]["results"]] == [slug]


def test_missing_api_key_is_refused(api):
    api.headers.pop("apikey")
    status, kind, errors = error_of(api.get("list/"))
    assert (status, kind) == (401, "Authentication failed")
    assert "API key" in errors["detail"][0]
