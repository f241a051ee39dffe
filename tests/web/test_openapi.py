"""The OpenAPI description covers every API route and only those."""

from __future__ import annotations

import re

from scheduler.web.api.openapi import OPERATIONS


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method.lower(), path))
    return found


def test_every_route_is_documented(app, client):
    documented = {(m, p) for m, p, *_ in OPERATIONS}
    assert _routes(app) == documented
    spec = client.get("/api/v1/openapi.json").get_json()
    for method, path in documented:
        assert method in spec["paths"][path]
    for ref in re.findall(r'"\$ref": "#/components/schemas/(\w+)"', str(spec).replace("'", '"')):
        assert ref in spec["components"]["schemas"]


def test_request_schemas_come_from_the_validating_models(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    series = spec["components"]["schemas"]["SeriesIn"]
    assert "session_count" in series["required"]
    assert set(series["properties"]["problem_area"]["enum"]) == {
        "grief",
        "role_dispute",
        "role_transition",
        "interpersonal_deficits",
    }
