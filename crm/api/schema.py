"""OpenAPI: describe the two credentials and publish each endpoint once (not its aliases)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

DOCUMENTED_PREFIXES = ("/api/v1/leads/", "/api/v1/user/")


class ApiKeyJWTScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api.authentication.ApiKeyJWTAuthentication"
    name = ["ApiKey", "BearerAuth"]

    def get_security_requirement(self, auto_schema):
        return {"ApiKey": [], "BearerAuth": []}

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "apikey"},
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        ]


def drop_aliases(endpoints, **kwargs):
    return [e for e in endpoints if e[0].startswith(DOCUMENTED_PREFIXES)]
