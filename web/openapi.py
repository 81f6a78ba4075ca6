"""The OpenAPI description of the API the pages call, made from the same request models the
API validates with, so the two cannot drift apart. Served at ``/console/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

REFUSALS = {
    "400": "the body or the query is not valid: `{error}` names the field",
    "401": "no trusted identity (a token, the session cookie, or the proxy's header)",
    "403": "the signed-in person may not do this: `{error}` says why",
}


Query = dict[str, str]  # a GET's query parameters: name -> what it means


def openapi(routes: dict[str, tuple[type[BaseModel], str]],
            reads: dict[str, tuple[type[BaseModel], str, Query]] | None = None
            ) -> dict[str, Any]:
    """``routes``: each POST path with its request model and what it does; ``reads``: each
    GET path with its response model, what it answers and its query parameters."""
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        """The model's schema among the components (with those it uses); a reference to it."""
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    for path, (model, summary, query) in (reads or {}).items():
        paths[path] = {"get": {
            "summary": summary,
            "security": [{"session": []}, {"bearer": []}],
            "parameters": [{"name": name, "in": "query", "required": False,
                            "description": text, "schema": {"type": "string"}}
                           for name, text in query.items()],
            "responses": {"200": {"description": summary, "content": {"application/json": {
                "schema": ref(model)}}},
                **{code: {"description": text} for code, text in REFUSALS.items()}},
        }}
    for path, (model, summary) in routes.items():
        paths[path] = {"post": {
            "summary": summary,
            "security": [{"session": []}, {"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": ref(model)}}},
            "responses": {"200": {"description": "done"},
                          "202": {"description": "sent to crm.commands; the outcome "
                                                 "arrives as a notice"},
                          **{code: {"description": text} for code, text in REFUSALS.items()}},
        }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "crmstream console API", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "crmstream_token"},
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
