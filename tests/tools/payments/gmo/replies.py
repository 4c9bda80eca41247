"""GMO replies in their recorded shape, and a reader for the forms the adapter sends.

Shapes follow recorded exchanges (t-k/gmo-payment-ruby's VCR cassettes, gmopg clients' tests): raw
`Key=Value&...` bodies in Windows-31J, errors as pipe-separated ErrCode/ErrInfo lists, a 3-D Secure
RedirectUrl with its own unescaped `&t=`. Values (ids, dates) are made up.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx

BASE_URL = "https://pt01.mul-pay.jp/payment/"
SHOP_ID = "tshop00012345"
SHOP_PASS = "h8ku2rwz"
CALLBACK_URL = "https://shop.example.jp/api/payments/gmo/3ds"
ACCESS_ID = "f51483bb5892e25754eb85207a582b3c"
ACCESS_PASS = "07acabfd75965a1141fb9099080a8975"
REDIRECT_URL = ("https://manage.tds2gw.gmopg.jp/api/v2/brw/callback?"
                "transId=6e48e31f-2940-48e1-a702-ebba2f3373ee&t=dccc8a7ed85372c9accff576bff59b3a")


def reply(body: str, status: int = 200) -> httpx.Response:
    """A GMO reply: raw body, Windows-31J, as the protocol-type API answers."""
    return httpx.Response(status, content=body.encode("cp932"),
                          headers={"Content-Type": "text/plain;charset=Windows-31J"})


def error(*infos: str) -> httpx.Response:
    """An error reply: `ErrCode=E01|E01&ErrInfo=E01050002|E01060006`."""
    return reply(f"ErrCode={'|'.join(i[:3] for i in infos)}&ErrInfo={'|'.join(infos)}")


def entry_ok() -> httpx.Response:
    return reply(f"AccessID={ACCESS_ID}&AccessPass={ACCESS_PASS}")


def exec_ok(order_id: str) -> httpx.Response:
    return reply(f"ACS=0&OrderID={order_id}&Forward=2a99662&Method=1&PayTimes=&Approve=6416259"
                 "&TranID=1303011158111111111111198879&TranDate=20250301115934"
                 "&CheckString=f0755b96e0a337a2d4edafc37edc2f2d")


def exec_3ds() -> httpx.Response:
    return reply(f"ACS=2&RedirectUrl={REDIRECT_URL}")


def secure_ok(order_id: str) -> httpx.Response:
    return reply(f"OrderID={order_id}&Forward=2a99663&Method=1&PayTimes=&Approve=5689128"
                 "&TranID=1708012029111111111111771228&TranDate=20250301120101"
                 "&CheckString=3e455a2168fefc90dbb7db7ef7b0fe82")


def trade(order_id: str, status: str, amount: int = 2640, *,
          process_date: str = "20250301115932") -> httpx.Response:
    """A SearchTrade reply (field list as in the recorded cassette)."""
    return reply(f"OrderID={order_id}&Status={status}&ProcessDate={process_date}&JobCd=CAPTURE"
                 f"&AccessID={ACCESS_ID}&AccessPass={ACCESS_PASS}&ItemCode=0000990"
                 f"&Amount={amount}&Tax=0&SiteID=&MemberID=&CardNo=************1111&Expire=2812"
                 "&Method=1&PayTimes=&Forward=2a99662&TranID=1303011158111111111111198879"
                 "&Approve=6416259&ClientField1=&ClientField2=&ClientField3=")


def alter_ok() -> httpx.Response:
    return reply(f"AccessID={ACCESS_ID}&AccessPass={ACCESS_PASS}&Forward=2a99662&Approve=6416260"
                 "&TranID=1303011158111111111111198880&TranDate=20250301115935")


def exec_cvs_ok(order_id: str) -> httpx.Response:
    return reply(f"OrderID={order_id}&Convenience=00007&ConfNo=&ReceiptNo=2391837465012"
                 "&PaymentTerm=20250304235959&TranDate=20250301120312&CheckString=md5"
                 "&ClientField1=&ClientField2=&ClientField3=")


def cvs_trade(order_id: str, status: str, amount: int = 2840) -> httpx.Response:
    """A SearchTradeMulti reply for a convenience-store transaction (PayType=3)."""
    return reply(f"OrderID={order_id}&Status={status}&ProcessDate=20250301120312&JobCd="
                 f"&AccessID={ACCESS_ID}&AccessPass={ACCESS_PASS}&Amount={amount}&Tax=0"
                 "&CvsCode=00007&CvsConfNo=&CvsReceiptNo=2391837465012"
                 "&PaymentTerm=20250304235959&PayType=3")


def form(request: httpx.Request) -> dict[str, str]:
    """The form the adapter sent, decoded as GMO would (percent-encoded Windows-31J)."""
    pairs = parse_qsl(request.content.decode("ascii"), keep_blank_values=True,
                      strict_parsing=True, encoding="cp932", errors="strict")
    return dict(pairs)
