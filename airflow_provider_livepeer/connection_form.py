"""The ``livepeer`` connection form, described once for every Airflow version's UI.

Airflow 3.2 and later read the form from the provider info (``ui-field-behaviour`` and ``conn-fields`` of
:func:`airflow_provider_livepeer.get_provider_info`). Earlier versions ask the hook class instead
(``get_ui_field_behaviour`` and ``get_connection_form_widgets``), which build the same form from the same
two dictionaries here. This module imports nothing from Airflow, so provider discovery stays cheap.
"""

from __future__ import annotations

from typing import Any

#: Which standard fields the form shows, and how it labels them.
FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["login", "schema", "port"],
    "relabeling": {"password": "API key", "host": "API host"},
    "placeholders": {"host": "https://livepeer.studio", "password": "Livepeer API key"},
}

#: The shortest ``read_timeout`` the form and the hook accept, in seconds.
READ_TIMEOUT_MINIMUM = 1

#: The extra fields, kept in the connection's extras under these names.
EXTRA_FIELDS: dict[str, Any] = {
    "read_timeout": {
        "label": "Read timeout (seconds)",
        "description": "How long to wait for Livepeer to answer a request (default 30).",
        "schema": {"type": ["number", "null"], "minimum": READ_TIMEOUT_MINIMUM},
    },
    "verify": {
        "label": "Verify TLS certificates",
        "description": (
            "true (default: the CA bundle of REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, else certifi's), "
            "false (not checked), or the path of a CA bundle on the workers and triggerers."
        ),
        "schema": {"type": ["string", "null"]},
    },
    "webhook_secret": {
        "label": "Webhook shared secret",
        "description": (
            "The sharedSecret of the Livepeer webhook that calls this Airflow: its calls are checked "
            "against it, and refused without it."
        ),
        # A password field: masked in the UI, and Airflow treats the value as sensitive.
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "webhook_asset_alias": {
        "label": "Webhook asset alias",
        "description": "An AssetAlias every webhook event is attached to (optional).",
        "schema": {"type": ["string", "null"]},
    },
    "webhook_uploads_asset": {
        "label": "Webhook uploads asset",
        "description": "The name of an Asset that gets an event for every completed upload (optional).",
        "schema": {"type": ["string", "null"]},
    },
}


def ui_field_behaviour() -> dict[str, Any]:
    """:data:`FIELD_BEHAVIOUR` with the underscored keys that ``get_ui_field_behaviour`` returns."""
    return {key.replace("-", "_"): value for key, value in FIELD_BEHAVIOUR.items()}


def form_widgets() -> dict[str, Any]:
    """:data:`EXTRA_FIELDS` as the WTForms fields that ``get_connection_form_widgets`` returns.

    Only Airflow's own UI calls this, where WTForms is installed (the Flask UI of 2.x, or the API server
    of 3.0 and 3.1, which stands in for the Flask widgets). A number with a minimum is an
    ``IntegerField`` with that lower bound: the field classes those UIs accept have no float. A string is
    a ``StringField``, a ``PasswordField`` when its format is ``password``.
    """
    from wtforms import IntegerField, PasswordField, StringField
    from wtforms.validators import NumberRange, Optional

    widget: Any = None
    password_widget: Any = None
    try:  # The Flask UI styles its inputs with Flask AppBuilder's widgets; the API server needs none.
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget

        widget, password_widget = BS3TextFieldWidget(), BS3PasswordFieldWidget()
    except ImportError:
        pass
    widgets: dict[str, Any] = {}
    for name, field in EXTRA_FIELDS.items():
        if field["schema"].get("format") == "password":
            widgets[name] = PasswordField(
                field["label"],
                validators=[Optional()],
                description=field["description"],
                widget=password_widget,
            )
            continue
        if "string" in field["schema"]["type"]:
            widgets[name] = StringField(
                field["label"], validators=[Optional()], description=field["description"], widget=widget
            )
            continue
        minimum = field["schema"].get("minimum")
        widgets[name] = IntegerField(
            field["label"],
            validators=[Optional(), NumberRange(min=minimum)],
            description=field["description"],
            widget=widget,
        )
    return widgets
