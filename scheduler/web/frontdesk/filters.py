"""Jinja filters for showing times in an office's or client's own zone."""

from __future__ import annotations

from flask import Flask

from ...domain.languages import LANGUAGE_NAMES
from . import present


def register(app: Flask) -> None:
    app.add_template_filter(present.fmt_when, "when")
    app.add_template_filter(present.fmt_time, "hm")
    app.add_template_filter(present.fmt_clock, "clock")
    app.add_template_filter(present.fmt_phone, "phone")
    app.add_template_filter(present.fmt_day, "long_day")
    app.add_template_filter(present.fmt_short_day, "short_day")
    app.add_template_filter(present.fmt_date, "us_date")
    app.add_template_filter(present.named_error, "named_error")
    app.add_template_filter(present.zone_label, "zone_label")
    app.add_template_filter(present.zone_name, "zone_name")
    app.add_template_filter(lambda code: LANGUAGE_NAMES.get(code, code), "language_name")
    app.add_template_filter(present.audit_details, "audit_details")
    app.add_template_filter(present.session_phase, "phase")
    app.add_template_filter(present.session_position, "position")
    app.add_template_filter(present.status_label, "status_label")
    app.add_template_filter(present.cadence, "cadence")
    app.add_template_filter(lambda a: present.PROBLEM_AREA_LABELS.get(a, a), "problem_area")
