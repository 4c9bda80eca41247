"""The shopper-facing page at `/`. Until the chat page lands, a catalogue page with live search."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["pages"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chatpay</title>
<style>
body{font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;
background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:1rem 1.5rem}
main{max-width:56rem;margin:1.5rem auto;padding:0 1rem}
input{width:100%;padding:.7rem;font-size:1rem;border:1px solid #c9ced8;border-radius:.5rem}
ul{list-style:none;padding:0}li{background:#fff;margin:.5rem 0;padding:.8rem 1rem;border-radius:.5rem;
display:flex;justify-content:space-between;gap:1rem}
.ja{color:#5b6272;font-size:.9rem}.price{font-weight:600;white-space:nowrap}
</style></head>
<body><header><strong>chatpay</strong> — shop and pay inside the chat (chat coming next)</header>
<main><input id="q" placeholder="Search the catalogue / 商品を検索 (e.g. green tea, 緑茶, mug)"
autofocus><ul id="results"></ul></main>
<script src="/static/catalogue.js"></script>
</body></html>"""

_SCRIPT = """
const q = document.getElementById('q'), out = document.getElementById('results');
async function show() {
  const url = '/api/products?limit=50' + (q.value ? '&q=' + encodeURIComponent(q.value) : '');
  const items = await (await fetch(url)).json();
  out.replaceChildren(...items.map(p => {
    const li = document.createElement('li');
    const left = document.createElement('div');
    left.textContent = p.name;
    const ja = document.createElement('div'); ja.className = 'ja'; ja.textContent = p.name_ja;
    left.append(ja);
    const price = document.createElement('div'); price.className = 'price';
    price.textContent = '¥' + p.price.toLocaleString('ja-JP') + (p.stock ? '' : ' (sold out)');
    li.append(left, price); return li;
  }));
}
q.addEventListener('input', show); show();
"""

_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers=_HEADERS)


@router.get("/static/catalogue.js", include_in_schema=False)
async def catalogue_script() -> HTMLResponse:
    return HTMLResponse(_SCRIPT, media_type="text/javascript", headers=_HEADERS)
