"""GMO Payment Gateway adapter (PGマルチペイメントサービス, protocol type), off by default.

Built from GMO's publicly visible protocol (open-source clients and their recorded exchanges; GMO's
own specification is shared with merchants under NDA) and tested against mocked HTTP only. Each
module's docstring says which of its facts are confirmed by a public source and which are assumed.

- `settings`: `GMOSettings` (`CHATPAY_GMO_*`), refusing placeholder credentials when enabled;
- `protocol`: Shift_JIS form bodies, `Key=Value&...` replies, ErrCode/ErrInfo pairs;
- `client`: one POST per call, and when a lost answer means "maybe processed";
- `errors`: ErrInfo -> decline reason / "may have charged" / "refused";
- `order_ids`: the OrderID derived from the idempotency key (why retries cannot charge twice);
- `trades`: SearchTrade records and their Status -> `LookupStatus`;
- `konbini`: convenience-store codes, shopper fields, slips;
- `tokens`: `TokenInfo` from what GMO's browser script returned (GMO cannot describe a token);
- `notifications`: result notifications (unsigned; see there for what can be verified);
- `adapter`: `GMOGateway`.
"""

from tools.payments.gmo.adapter import GMOGateway
from tools.payments.gmo.order_ids import OrderKind, order_id_for
from tools.payments.gmo.settings import GMOSettings, get_gmo_settings
from tools.payments.gmo.tokens import token_info_from_frame

__all__ = ["GMOGateway", "GMOSettings", "OrderKind", "get_gmo_settings", "order_id_for",
           "token_info_from_frame"]
