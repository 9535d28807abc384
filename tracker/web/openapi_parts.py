"""The pieces every part of the OpenAPI document is built from: responses, parameters, operations.

An error response names the code the handlers answer with for its status, taken from the
exception classes themselves, so the document and the error handler cannot disagree.
"""

from __future__ import annotations

from typing import Any

from tracker.errors import BadRequest, Forbidden, HTTPError, NotFound, PayloadTooLarge, ReplayFailed, Unauthorized
from tracker.services.abuse import RateLimited

Schema = dict[str, Any]

_ANSWERED: tuple[type[HTTPError], ...] = (
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ReplayFailed,
)
_CODES = {error.status: error.code for error in _ANSWERED}

SHARED_SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "machine-readable code, e.g. bad_request"},
            "message": {"type": "string", "description": "what is wrong, for a person"},
            "field": {"type": "string", "description": "the field, parameter or header at fault"},
        },
    },
    "Rejection": {
        "type": "object",
        "required": ["index", "field", "message"],
        "properties": {"index": {"type": "integer"}, "field": {"type": "string"}, "message": {"type": "string"}},
    },
}


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def content(schema: Schema, *media: str) -> Schema:
    """A request or response body: ``schema`` under each media type (JSON unless told)."""
    return {media_type: {"schema": schema} for media_type in media or ("application/json",)}


def ok(schema: Schema, description: str = "ok") -> Schema:
    return {"200": {"description": description, "content": content(schema)}}


def error(status: int, description: str = "", schema: Schema | None = None) -> Schema:
    """One error response: the JSON ``Error`` (or ``schema``), with the Retry-After a 429 carries."""
    response: Schema = {
        "description": description or f"`{_CODES[status]}`",
        "content": content(schema or ref("Error")),
    }
    if status == RateLimited.status:
        response["headers"] = {
            "Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}
        }
    return response


def errors(*statuses: int) -> Schema:
    return {str(status): error(status) for status in statuses}


def _parameter(
    location: str, name: str, description: str, schema: Schema | None = None, *, required: bool = False
) -> Schema:
    """A parameter ``in`` query, path, header or cookie (a string unless ``schema`` says otherwise)."""
    return {
        "name": name,
        "in": location,
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return _parameter("query", name, description, schema)


def path_param(name: str, schema: Schema, description: str) -> Schema:
    return _parameter("path", name, description, schema, required=True)


def header_param(name: str, description: str) -> Schema:
    return _parameter("header", name, description)


def limit_param(maximum: int) -> Schema:
    """``limit``, a page size: the handlers default to 50."""
    return query("limit", f"1 to {maximum} (default 50)", {"type": "integer", "minimum": 1, "maximum": maximum})


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: Schema,
    *,
    description: str | None = None,
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    media: tuple[str, ...] = ("application/json",),
    security: str | None = "apiKey",
) -> Schema:
    """One operation; ``security`` names its scheme (an API key unless told), None for a public one."""
    built: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description is not None:
        built["description"] = description
    if security is not None:
        built["security"] = [{security: []}]
    if parameters:
        built["parameters"] = parameters
    if body is not None:
        built["requestBody"] = {"required": True, "content": content(body, *media)}
    built["responses"] = responses
    return built
