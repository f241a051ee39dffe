"""The Flask application factory; one blueprint per area."""

from __future__ import annotations

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import logs
from ..config import Settings
from ..db.session import close_reading
from ..package_data import templates_dir
from ..wiring import Container, build
from . import errors, frontdesk, headers, health, input_guard, measure_form, metrics, observe
from .api import blueprint as api_blueprint
from .feeds import bp as feeds_bp
from .json_out import OrjsonProvider
from .render_cache import RenderCache
from .webhooks import bp as webhooks_bp


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> Flask:
    """Build the web app. Tests pass a ready `container`; production builds one from the env."""
    if container is None:
        container = build(settings or Settings.from_env())
    settings = container.settings
    app = Flask(
        __name__,
        template_folder=str(templates_dir()),  # pages/ and sms/; see package_data
        static_folder="static",
    )
    app.json = OrjsonProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
    )
    app.extensions["ipt"] = container
    app.extensions["ipt_renders"] = RenderCache(settings.render_cache_mb * 1024 * 1024)
    if settings.trusted_proxies:
        # Believe exactly that many X-Forwarded-* hops (the ones our own proxies appended), so
        # request.remote_addr is the real client: sign-in limits and audit rows depend on it.
        # X-Forwarded-Prefix is not trusted: the app is served at the root of its host.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )

    @app.teardown_appcontext
    def _close_db(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is None:
            return
        if exc is None:  # a read ends with COMMIT, keeping prepared statements (db.session)
            close_reading(db)
        else:
            db.close()

    logs.configure(settings.log_format)
    observe.register(app)  # first: its timing and request id wrap every other hook
    input_guard.register(app)  # before any blueprint: the id converter must exist first
    errors.register(app)
    headers.register(app, settings)
    frontdesk.init_app(app)  # the browser pages; CSRF applies to their blueprints only
    app.register_blueprint(measure_form.bp)  # the client's one-time questionnaire form
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(webhooks_bp)  # Twilio: inbound texts and delivery reports
    return app
