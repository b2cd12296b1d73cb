"""The canonical bank model: every table a bank loads into Tenure, declared once.

Tables are listed parents first. Money columns end in ``_minor`` and hold integer minor units (fen,
cents); timestamps end in ``_at`` and are UTC. See ``docs/data-model.md`` (generated from here by
``tenure docs data-model``).
"""

from __future__ import annotations

from tenure.data.schema import Column, ColumnType, Group, PiiKind, RowCheck, Table

__all__ = ["CHANNELS", "CURRENCIES", "LABEL_TABLES", "MODEL_TABLES", "PRODUCTS"]

T = ColumnType
EARLIEST = "1970-01-01"
LATEST = "2100-01-01"

CURRENCIES = ("CNY", "USD", "EUR", "HKD", "GBP", "JPY")
PRODUCTS = ("current", "savings", "term_deposit", "card", "loan", "wealth")
CHANNELS = ("mobile", "web", "branch", "atm", "pos", "phone", "api", "batch")
CONTACT_CHANNELS = ("sms", "email", "phone", "app_push")


def _key(name: str, what: str) -> Column:
    return Column(name, T.ID, f"Identifier of the {what}.")


def _ref(name: str, table: str, *, required: bool = True) -> Column:
    return Column(
        name, T.ID, f"The {table[:-1]} this row belongs to.", required, references=f"{table}.{name}"
    )


def _at(name: str, what: str, *, required: bool = True) -> Column:
    return Column(name, T.TIMESTAMP, what, required, minimum=EARLIEST, maximum=LATEST)


def _enum(name: str, what: str, values: tuple[str, ...], *, required: bool = True) -> Column:
    return Column(name, T.ENUM, what, required, values=values)


def _text(name: str, what: str, *, required: bool = False, pii: PiiKind | None = None) -> Column:
    return Column(name, T.TEXT, what, required, pii=pii)


def _money(name: str, what: str, *, required: bool = True, minimum: int | None = None) -> Column:
    return Column(name, T.MONEY, f"{what} (integer minor units).", required, minimum=minimum)


def _geo() -> tuple[Column, ...]:
    return (
        _text("ip", "IP address the request came from."),
        _text("geo_city", "City the request was located in."),
        Column("geo_lat", T.FLOAT, "Latitude.", False, minimum=-90.0, maximum=90.0),
        Column("geo_lon", T.FLOAT, "Longitude.", False, minimum=-180.0, maximum=180.0),
    )


def _closed_after_opened(table: str) -> RowCheck:
    return RowCheck(
        f"{table}_closed_after_opened",
        "closed_at",
        "closed_at >= opened_at",
        "closed_at is before opened_at",
    )


CUSTOMERS = Table(
    "customers",
    "Retail and corporate customers. Identity columns are personal data.",
    (
        _key("customer_id", "customer"),
        _enum("customer_type", "Retail person or corporate client.", ("retail", "corporate")),
        _text("full_name", "Person's or company's name.", required=True, pii=PiiKind.NAME),
        _text("phone", "Mobile phone number.", pii=PiiKind.PHONE),
        _text("email", "E-mail address.", pii=PiiKind.EMAIL),
        _text("id_number", "Resident ID or unified social credit code.", pii=PiiKind.ID_NUMBER),
        Column(
            "birth_year", T.INT, "Year of birth (retail only).", False, minimum=1900, maximum=2030
        ),
        _text("region", "Province or region of residence.", required=True),
        _text("city", "City of residence."),
        _enum(
            "income_band",
            "Income band (retail) or turnover band (corporate).",
            ("low", "lower_middle", "middle", "upper_middle", "high"),
            required=False,
        ),
        _enum("kyc_risk", "KYC risk rating.", ("low", "medium", "high")),
        _enum("channel_preference", "Preferred channel.", ("mobile", "web", "branch", "phone")),
        _text("rm_id", "Relationship manager in charge, if any."),
        _at("opened_at", "When the relationship started."),
        _at("closed_at", "When the relationship ended, if it has.", required=False),
    ),
    ("customer_id",),
    checks=(_closed_after_opened("customers"),),
)

ACCOUNTS = Table(
    "accounts",
    "Products a customer holds: current, savings, term deposit, card, loan, wealth.",
    (
        _key("account_id", "account"),
        _ref("customer_id", "customers"),
        _enum("product", "Product family.", PRODUCTS),
        _enum("currency", "ISO 4217 currency.", CURRENCIES),
        _enum("status", "Account status at extract time.", ("active", "dormant", "closed")),
        _at("opened_at", "When the account was opened."),
        _at("closed_at", "When the account was closed, if it was.", required=False),
        _money("balance_minor", "Balance at extract time; loans and cards hold what is owed"),
        _money("credit_limit_minor", "Credit limit of a card or loan", required=False, minimum=0),
        Column(
            "interest_rate",
            T.FLOAT,
            "Annual rate, 0.035 = 3.5 %.",
            False,
            minimum=-0.01,
            maximum=0.5,
        ),
        Column(
            "maturity_date",
            T.DATE,
            "Maturity of a term deposit or loan.",
            False,
            minimum=EARLIEST,
            maximum=LATEST,
        ),
    ),
    ("account_id",),
    checks=(_closed_after_opened("accounts"),),
)

PAYEES = Table(
    "payees",
    "Beneficiaries a customer has registered for transfers.",
    (
        _key("payee_id", "payee"),
        _ref("customer_id", "customers"),
        _text("payee_name", "Name of the beneficiary.", required=True, pii=PiiKind.NAME),
        _text("account_number", "Beneficiary account.", required=True, pii=PiiKind.ACCOUNT_NUMBER),
        _text("bank_code", "Beneficiary's bank; TENURE for this bank.", required=True),
        _enum("payee_type", "Kind of beneficiary.", ("person", "business", "own_account")),
        _at("added_at", "When the payee was registered."),
        _enum("channel", "Channel the payee was added through.", CHANNELS),
        _text("device_id", "Device used to add the payee."),
    ),
    ("payee_id",),
)

TRANSACTIONS = Table(
    "transactions",
    "Money movements on accounts, with the channel, device and place they came from.",
    (
        _key("transaction_id", "transaction"),
        _ref("account_id", "accounts"),
        _ref("customer_id", "customers"),
        _at("occurred_at", "When the transaction happened."),
        _money("amount_minor", "Amount, always positive; direction gives the sign", minimum=1),
        _enum("currency", "ISO 4217 currency.", CURRENCIES),
        _enum("direction", "Money in (credit) or out (debit).", ("credit", "debit")),
        _enum("channel", "Channel.", CHANNELS),
        _enum(
            "kind",
            "What the movement is.",
            (
                "salary",
                "transfer_in",
                "transfer_out",
                "card_purchase",
                "cash_withdrawal",
                "cash_deposit",
                "bill_payment",
                "fee",
                "interest",
                "loan_disbursement",
                "loan_repayment",
                "deposit_maturity",
                "investment",
                "refund",
            ),
        ),
        _text("merchant_category", "Merchant category of a card purchase."),
        _text("counterparty", "Name of the other side.", pii=PiiKind.NAME),
        _text("counterparty_bank", "Bank of the other side; TENURE for this bank."),
        _ref("payee_id", "payees", required=False),
        _text("device_id", "Device that initiated it."),
        *_geo(),
        _enum("status", "Outcome.", ("posted", "declined", "reversed", "pending")),
        _money("balance_after_minor", "Account balance after posting", required=False),
    ),
    ("transaction_id",),
)

DIGITAL_EVENTS = Table(
    "digital_events",
    "Logins and digital sessions: device, IP, place, success, authentication and features used.",
    (
        _key("event_id", "event"),
        _ref("customer_id", "customers"),
        _at("occurred_at", "When it happened."),
        _enum("event_type", "What happened.", ("login", "logout", "feature_use")),
        _enum("channel", "Digital channel.", ("mobile", "web")),
        _text("device_id", "Device fingerprint."),
        *_geo(),
        Column("success", T.BOOL, "Whether the login or action succeeded."),
        _enum(
            "auth_method",
            "How the user authenticated.",
            ("password", "sms_otp", "totp", "biometric", "none"),
        ),
        _text("feature", "Feature used (feature_use events)."),
        Column("latency_ms", T.INT, "Response time seen.", False, minimum=0, maximum=600_000),
    ),
    ("event_id",),
)

PROFILE_CHANGES = Table(
    "profile_changes",
    "Changes to contact details, credentials, limits and payee details (takeover precursors).",
    (
        _key("change_id", "change"),
        _ref("customer_id", "customers"),
        _at("changed_at", "When the change was made."),
        _enum(
            "field",
            "What was changed.",
            (
                "phone",
                "email",
                "password",
                "address",
                "device_binding",
                "transfer_limit",
                "payee_details",
            ),
        ),
        _enum("channel", "Channel of the change.", CHANNELS),
        _ref("payee_id", "payees", required=False),
        _text("device_id", "Device used."),
        _text("ip", "IP address used."),
        _enum("initiated_by", "Who made the change.", ("customer", "staff", "system")),
    ),
    ("change_id",),
)

INTERACTIONS = Table(
    "interactions",
    "Service contacts: inquiries, complaints and praise, with free text in Chinese or English.",
    (
        _key("interaction_id", "interaction"),
        _ref("customer_id", "customers"),
        _at("occurred_at", "When the customer got in touch."),
        _enum("channel", "Contact channel.", ("branch", "phone", "app_chat", "email", "wechat")),
        _enum("kind", "Nature of the contact.", ("inquiry", "complaint", "praise")),
        _text(
            "topic", "Topic (fees, card, app, transfer, loan, fraud, service, ...).", required=True
        ),
        _enum("language", "Language of the text.", ("zh", "en")),
        _text("text", "What the customer said, as recorded.", required=True),
        _enum("status", "Whether it is resolved.", ("open", "resolved")),
        _at("resolved_at", "When it was resolved.", required=False),
    ),
    ("interaction_id",),
    checks=(
        RowCheck(
            "interactions_resolved_after_opened",
            "resolved_at",
            "resolved_at >= occurred_at",
            "resolved_at is before occurred_at",
        ),
    ),
)

SURVEYS = Table(
    "surveys",
    "NPS (0-10) and CSAT (1-5) answers with optional comments.",
    (
        _key("survey_id", "survey answer"),
        _ref("customer_id", "customers"),
        _at("answered_at", "When the customer answered."),
        _enum("kind", "Survey type.", ("nps", "csat")),
        Column("score", T.INT, "NPS 0-10 or CSAT 1-5.", minimum=0, maximum=10),
        _text("comment", "Free-text comment."),
        _enum("language", "Language of the comment.", ("zh", "en"), required=False),
    ),
    ("survey_id",),
    checks=(
        RowCheck(
            "surveys_csat_range",
            "score",
            "kind <> 'csat' OR score BETWEEN 1 AND 5",
            "CSAT score outside 1-5",
        ),
    ),
)

CONSENTS = Table(
    "consents",
    "Consent history per purpose and channel (each row is one grant or withdrawal).",
    (
        _key("consent_id", "consent record"),
        _ref("customer_id", "customers"),
        _enum("purpose", "Purpose.", ("marketing", "profiling", "third_party_sharing")),
        _enum("channel", "Contact channel.", CONTACT_CHANNELS),
        _enum("status", "Given or withdrawn.", ("given", "withdrawn")),
        _at("recorded_at", "When it was recorded."),
    ),
    ("consent_id",),
)

CAMPAIGNS = Table(
    "campaigns",
    "Marketing and retention campaigns, each with a random holdout.",
    (
        _key("campaign_id", "campaign"),
        _text("name", "Campaign name.", required=True),
        _enum("objective", "Goal.", ("retention", "cross_sell", "activation", "winback")),
        _enum("channel", "Main channel.", CONTACT_CHANNELS),
        _at("starts_at", "Start."),
        _at("ends_at", "End."),
        Column("holdout_share", T.FLOAT, "Share kept as random holdout.", minimum=0.0, maximum=1.0),
    ),
    ("campaign_id",),
    checks=(
        RowCheck(
            "campaigns_ends_after_start",
            "ends_at",
            "ends_at >= starts_at",
            "ends_at is before starts_at",
        ),
    ),
)

OFFERS = Table(
    "offers",
    "Offers a campaign can make.",
    (
        _key("offer_id", "offer"),
        _ref("campaign_id", "campaigns"),
        _text("name", "Offer name.", required=True),
        _enum(
            "kind", "Kind of offer.", ("fee_waiver", "rate_bonus", "cashback", "rm_call", "gift")
        ),
        _money("cost_minor", "Cost to the bank per acceptance", minimum=0),
    ),
    ("offer_id",),
)

CONTACTS = Table(
    "contacts",
    "Who was assigned to which arm of a campaign, what was sent, and what happened.",
    (
        _key("contact_id", "contact"),
        _ref("campaign_id", "campaigns"),
        _ref("customer_id", "customers"),
        _ref("offer_id", "offers", required=False),
        _enum("arm", "Random assignment.", ("treatment", "holdout")),
        _at("assigned_at", "When the customer was assigned."),
        _at("sent_at", "When the offer was sent (treatment only).", required=False),
        _enum("channel", "Channel used.", CONTACT_CHANNELS),
        _enum("outcome", "Response.", ("no_response", "opened", "accepted", "declined")),
    ),
    ("contact_id",),
    checks=(
        RowCheck(
            "contacts_holdout_not_sent",
            "sent_at",
            "arm = 'treatment' OR sent_at IS NULL",
            "a holdout contact was sent an offer",
        ),
    ),
)

FRAUD_LABELS = Table(
    "fraud_labels",
    "Confirmed fraud and confirmed genuine events (from case dispositions, or simulator truth).",
    (
        _enum(
            "entity_type",
            "What was labelled.",
            ("transaction", "digital_event", "payee", "profile_change"),
        ),
        Column("entity_id", T.ID, "Identifier of the labelled row in its table."),
        _ref("customer_id", "customers"),
        Column("is_fraud", T.BOOL, "True for fraud, false for confirmed genuine."),
        _enum(
            "fraud_type",
            "Scheme, when fraud.",
            ("account_takeover", "card_testing", "mule", "payee_change_fraud", "other"),
            required=False,
        ),
        _at("confirmed_at", "When the label was confirmed."),
    ),
    ("entity_type", "entity_id"),
    group=Group.LABEL,
)

CHURN_LABELS = Table(
    "churn_labels",
    "Churn outcome per customer under one definition (closure, 90-day dormancy or balance flight).",
    (
        _ref("customer_id", "customers"),
        _enum("definition", "Churn definition.", ("closure", "dormancy_90d", "balance_flight_80")),
        Column("churned", T.BOOL, "Whether the customer churned under this definition."),
        _at("churned_at", "When churn happened.", required=False),
    ),
    ("customer_id", "definition"),
    group=Group.LABEL,
)

MODEL_TABLES: tuple[Table, ...] = (
    CUSTOMERS, ACCOUNTS, PAYEES, TRANSACTIONS, DIGITAL_EVENTS, PROFILE_CHANGES, INTERACTIONS,
    SURVEYS, CONSENTS, CAMPAIGNS, OFFERS, CONTACTS,
)  # fmt: skip
LABEL_TABLES: tuple[Table, ...] = (FRAUD_LABELS, CHURN_LABELS)
