"""Card data out of shopper text: detection (`redact`, `redact_pair`) and the redacting log filter.

A shopper may paste a card number, security code or expiry date into the chat. Before the text is
stored, logged or sent to a model, `redact` replaces each of them with a fixed token
("[card number removed]", "[security code removed]", "[expiry removed]") and reports what it
found, so the turn loop can answer deterministically (the card is not used; the secure card form is
shown). `redact_pair` does the same for a number split over the shopper's previous and current
message, and `redact_fragments` removes the first part of such a number from a reply that quoted
it before the second part arrived. `RedactingFilter` and `install_redacting_filter` apply the same
rules to every log record.

The modules, one concept each:

* `kinds`        - what is removed and the tokens that replace it (a contract with the prompts)
* `normalized`   - the view detection runs on (invisible characters dropped, look-alikes folded)
* `card_number`  - issuer prefixes, lengths, Luhn, digit grouping: what a card number is
* `card_context` - security codes and expiry dates next to card words or after a card number
* `detect`       - `redact`, `redact_pair` and their results
* `log_filter`   - the one logging filter that redacts every record
"""

from agent.redaction.detect import (
    PairRedaction,
    Redaction,
    redact,
    redact_fragments,
    redact_pair,
)
from agent.redaction.kinds import (
    CARD_NUMBER,
    CARD_NUMBER_TOKEN,
    EXPIRY,
    EXPIRY_TOKEN,
    SECURITY_CODE,
    SECURITY_CODE_TOKEN,
)
from agent.redaction.log_filter import (
    RedactingFilter,
    install_redacting_filter,
    redact_record,
    uninstall_redacting_filter,
)

__all__ = [
    "CARD_NUMBER",
    "CARD_NUMBER_TOKEN",
    "EXPIRY",
    "EXPIRY_TOKEN",
    "SECURITY_CODE",
    "SECURITY_CODE_TOKEN",
    "PairRedaction",
    "RedactingFilter",
    "Redaction",
    "install_redacting_filter",
    "redact",
    "redact_fragments",
    "redact_pair",
    "redact_record",
    "uninstall_redacting_filter",
]
