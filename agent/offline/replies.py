"""The offline model's reply texts, in English and Japanese.

This module only houses wording: templates as (English, Japanese) pairs, amounts as "¥3,000", lists,
and the few phrases the model later recognises in its own earlier replies (a "which one?" question,
an offer to add a product, the question whether to check out or empty the cart), so that "yes" and
"the first one" can be answered in context. Every text that can precede a tool result is written
to stay true if the tools succeed. No text ever asks for card details: cards go in the secure form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.offline.language import Lang
from agent.offline.products import Candidate

__all__ = ["TEXTS", "asked", "join_sentences", "method_name", "offer", "parse_offer", "say", "yen"]

TEXTS: dict[str, tuple[str, str]] = {
    "greeting": ("Hello! I can help you find something and pay right here in the chat. What are "
                 "you looking for today?",
                 "こんにちは！商品探しからお支払いまで、このチャットでお手伝いします。何をお探しですか？"),
    "greeting_cart": ("Welcome back! Your cart has {count} item(s). Would you like to keep shopping "
                      "or check out?",
                      "おかえりなさい！カートに{count}点入っています。お買い物を続けますか？それともご注文手続きに進みますか？"),
    "thanks": ("You're welcome! Is there anything else I can help you with?",
               "どういたしまして！ほかにお手伝いできることはありますか？"),
    "thanks_done": ("Thank you for shopping with us! Let me know if you need anything else.",
                    "ご利用ありがとうございました！ほかにご用があればお気軽にどうぞ。"),
    "help": ("I can find products (try “green tea” or “a mug”), add or remove items, answer price, "
             "stock, shipping and delivery questions, and take you through checkout: address, "
             "payment method (card, payment after delivery or convenience store) and a final "
             "confirmation before you pay.",
             "商品探し（例：「緑茶」「マグカップ」）、カートへの追加・削除、価格・在庫・送料・お届けについてのご質問、"
             "そしてご注文手続き（お届け先、お支払い方法：カード・後払い・コンビニ払い、最終確認）をお手伝いします。"),
    "catalog": ("We sell Japanese tea (sencha, gyokuro, matcha, hojicha and more), coffee (beans, "
                "ground, drip bags), Japanese snacks and sweets, mugs and teacups, kitchenware "
                "(teapots, kettles, chopsticks), stationery and a few things to wear. What would "
                "you like to see?",
                "お茶（煎茶・玉露・抹茶・ほうじ茶など）、コーヒー（豆・粉・ドリップバッグ）、和菓子やお菓子、マグカップや湯呑み、"
                "キッチン用品（急須・ケトル・箸など）、文房具、衣類を扱っています。どれをご覧になりますか？"),
    "next_browse": ("First find something you like: tell me what you're looking for (for example "
                    "“green tea” or “a mug”) and I'll add it to your cart.",
                    "まずは商品をお選びください。お探しのもの（例：「緑茶」「マグカップ」）をお伝えいただければ、カートに追加します。"),
    "next_cart": ("Your cart has {count} item(s) ({total}). Next comes checkout: I'll ask for the "
                  "delivery address and the payment method, then show a confirmation before you "
                  "pay. Keep shopping, or check out?",
                  "カートに{count}点（{total}）入っています。次はご注文手続き（お届け先とお支払い方法の入力、お支払い前の確認）です。"
                  "お買い物を続けますか？それともご注文手続きに進みますか？"),
    "low_caffeine": ("For little caffeine, try hojicha (roasted green tea, low in caffeine) or "
                     "mugicha (barley tea, caffeine-free). Here they are.",
                     "カフェインが少ないお茶なら、ほうじ茶（焙じることでカフェインが少なめ）や麦茶（カフェインゼロ）がおすすめです。こちらをご覧ください。"),
    "fee_none": ("There's no extra fee for {method}.", "{method}の手数料はかかりません（¥0）。"),
    "fee_is": ("{method} has a fee of {fee}.", "{method}の手数料は{fee}です。"),
    "fees_all": ("Payment fees: {fees}.", "お支払い手数料：{fees}。"),
    "after_delivery_limit": ("Payment after delivery is available for orders up to {limit}.",
                             "後払いは{limit}までのご注文でご利用いただけます。"),
    "after_delivery_over": ("Sorry, payment after delivery is only available for orders up to "
                            "{limit}, and this order comes to {total} with its fee. Please choose "
                            "card or convenience store.",
                            "申し訳ありません、後払いは{limit}までのご注文に限られます。このご注文は手数料込みで{total}のため、"
                            "カードまたはコンビニ払いをお選びください。"),
    "unknown": ("Sorry, I didn't quite catch that. You can name a product (for example “green tea”), "
                "ask about your cart, or say “checkout”.",
                "すみません、うまく理解できませんでした。商品名（例：「緑茶」）を入力するか、カートの確認や「レジへ」とお伝えください。"),
    "decline": ("Sorry, I can't change prices, totals or fees, or give discounts: they come from the "
                "shop's catalogue and are the same for everyone. I'm happy to help you find "
                "something or check out.",
                "申し訳ありませんが、価格・合計・手数料の変更や値引きはできません。金額はお店のカタログで決まっており、"
                "どなたにも同じです。商品探しやご注文のお手伝いでしたら喜んで承ります。"),
    "off_topic": ("I'm the shop's assistant, so I can only help with shopping here: products, your "
                  "cart and checkout. What can I find for you?",
                  "申し訳ありません、こちらではお買い物（商品・カート・ご注文）のお手伝いのみ承っています。何をお探しですか？"),
    "card_removed": ("For your security I can't take card numbers in the chat, and I didn't use the "
                     "one you sent. Please enter your card in the secure form below.",
                     "安全のため、チャットではカード番号をお受けできません（送信された番号は使用していません）。"
                     "下の安全な入力フォームにご入力ください。"),
    "added": ("Added {quantity} × {name} to your cart.", "{name}を{quantity}点カートに追加しました。"),
    "added_it": ("Done — I've added it to your cart.", "1点カートに追加しました。"),
    "added_count": ("Done — I've added {quantity} to your cart.", "{quantity}点カートに追加しました。"),
    "added_more": ("Added {quantity} more × {name} to your cart.",
                   "{name}をさらに{quantity}点カートに追加しました。"),
    "quantity_set": ("Changed {name} to {quantity} in your cart.",
                     "{name}の数量を{quantity}点に変更しました。"),
    "removed": ("Removed {name} from your cart.", "{name}をカートから削除しました。"),
    "cleared": ("I've emptied your cart. What would you like instead?",
                "カートを空にしました。ほかに何かお探しですか？"),
    "already_empty": ("Your cart is already empty. What would you like?",
                      "カートはすでに空です。何をお探しですか？"),
    "confirm_clear": ("Shall I empty your cart?", "カートを空にしますか？"),
    "kept_cart": ("No problem, I've left your cart as it is.",
                  "かしこまりました。カートはそのままにしておきます。"),
    "cart_empty": ("Your cart is empty. Tell me what you're looking for!",
                   "カートは空です。何をお探しですか？"),
    "cart_here": ("Here's your cart: {lines}. Total {total}.", "現在のカート：{lines}。合計{total}です。"),
    "anything_else": ("Anything else, or would you like to check out?",
                      "ほかにご入用のものはありますか？それともご注文手続きに進みますか？"),
    "no_problem": ("No problem. Let me know if there's anything else I can do.",
                   "かしこまりました。ほかにご用があればお知らせください。"),
    "okay_next": ("Great! What would you like next?", "承知しました。次は何をしましょうか？"),
    "how_many": ("How many {name} would you like?", "{name}はいくつにしますか？"),
    "which": ("Which one would you like: {options}?", "どれにしますか？{options}"),
    "which_named": ("Which {phrase} would you like: {options}?", "{phrase}はどれにしますか？{options}"),
    "which_size": ("Which size would you like for {name}: {sizes}?",
                   "{name}のサイズはどれにしますか？（{sizes}）"),
    "which_in_cart": ("Which one do you mean: {options}?", "どの商品ですか？{options}"),
    "which_again": ("Which one would you like? Tell me its name or its place in the list (for "
                    "example “the first one”).",
                    "どれにしますか？商品名か、リストの何番目か（例：「1つ目」）でお知らせください。"),
    "what_product": ("Which product do you mean? Tell me its name, for example “sencha”.",
                     "どの商品のことでしょうか？商品名（例：「煎茶」）でお知らせください。"),
    "browse": ("Here's what we have for “{query}”. Which one would you like?",
               "「{query}」の商品はこちらです。どれにしますか？"),
    "browse_recommend": ("Here are some {query} I can recommend. Would you like any of them?",
                         "おすすめの{query}はこちらです。気になるものはありますか？"),
    "recommend_ask": ("Happy to help! Are you looking for tea, coffee, Japanese sweets, tableware, "
                      "stationery or something to wear? Or tell me who it's for.",
                      "喜んで！お茶、コーヒー、和菓子、食器、文房具、衣類など、どんなものをお探しですか？贈り物ならお相手も教えてください。"),
    "not_found": ("Sorry, I couldn't find anything for “{query}”. Try another word, for example "
                  "“tea”, “coffee” or “mug”.",
                  "申し訳ありません、「{query}」に当てはまる商品が見つかりませんでした。「お茶」「コーヒー」「マグ」など別の言葉でお試しください。"),
    "not_in_cart": ("{name} isn't in your cart.", "{name}はカートに入っていません。"),
    "not_in_cart_phrase": ("I couldn't find “{phrase}” in your cart.",
                           "カートに「{phrase}」は見当たりません。"),
    "sold_out": ("Sorry, {name} is sold out right now.", "申し訳ありません、{name}は現在売り切れです。"),
    "in_cart_already": ("You already have {count} in your cart.", "カートにはすでに{count}点入っています。"),
    "only_left": ("Sorry, only {stock} of {name} left.",
                  "申し訳ありません、{name}の在庫は残り{stock}点です。"),
    "price": ("{name} is {price} (tax included).", "{name}は{price}（税込）です。"),
    "price_many": ("{name} is {price} each, {total} for {quantity}.",
                   "{name}は1点{price}、{quantity}点で{total}です。"),
    "in_stock": ("Yes, {name} is in stock ({stock} available).",
                 "はい、{name}は在庫がございます（{stock}点）。"),
    "in_stock_plain": ("Yes, {name} is available.", "はい、{name}はご購入いただけます。"),
    "prices": ("Prices: {options}.", "価格：{options}"),
    "details": ("{name}: {price}. {description}", "{name}：{price}。{description}"),
    "sizes": ("Sizes: {sizes}.", "サイズ：{sizes}。"),
    "total": ("Your total is {total}: items {subtotal}, shipping {shipping}{fee}.",
              "合計は{total}です（商品{subtotal}、送料{shipping}{fee}）。"),
    "total_fee": (", payment fee {fee}", "、支払い手数料{fee}"),
    "total_fee_later": ("Payment fees, if any, are added when you choose how to pay.",
                        "お支払い方法によっては手数料が加わります。"),
    "shipping_cart": ("Shipping for your order is {fee}.", "このご注文の送料は{fee}です。"),
    "shipping_free": ("Shipping is free for your order.", "このご注文は送料無料です。"),
    "shipping_rule": ("Shipping is {fee} per order, free from {free_from}.",
                      "送料は1回のご注文につき{fee}、{free_from}以上で無料です。"),
    "shipping_gap": ("Add {gap} more to get free shipping (free from {free_from}).",
                     "あと{gap}で送料無料になります（{free_from}以上で無料）。"),
    "shipping_later": ("The shipping fee is calculated at checkout and shown before you pay.",
                       "送料はご注文手続きの際に計算され、お支払い前に表示されます。"),
    "delivery": ("Orders usually ship within 1–2 business days; the delivery time after that depends "
                 "on the carrier and your area, so I can't promise an exact date. With "
                 "convenience-store payment, we ship once your payment arrives.",
                 "ご注文は通常1〜2営業日以内に発送します。到着日は配送業者やお届け先の地域によって異なるため、確約はできません。"
                 "コンビニ払いの場合は、ご入金の確認後に発送します。"),
    "methods": ("We accept credit card (protected by 3-D Secure), payment after delivery (you pay "
                "the invoice after the goods arrive, subject to a quick credit check) and "
                "convenience-store payment (you pay at the store with a slip; we ship after "
                "payment). The fees are shown below; just tell me which you prefer.",
                "お支払いは、クレジットカード（3-Dセキュア対応）、後払い（商品到着後に請求書でお支払い・審査あり）、"
                "コンビニ払い（払込票で店頭払い・入金確認後に発送）からお選びいただけます。手数料は下に表示しています。ご希望をお知らせください。"),
    "method_yes": ("Yes, {method} is available.", "はい、{method}をご利用いただけます。"),
    "method_chosen": ("Payment method: {method}.", "お支払い方法を{method}にしました。"),
    "ask_address": ("Where should we deliver? Please fill in the address form, or just type the "
                    "address here.",
                    "お届け先をご入力ください。下のフォームに入力するか、このチャットに住所をそのままお書きください。"),
    "ask_method": ("How would you like to pay? Choose a payment method below.",
                   "お支払い方法を下からお選びください。"),
    "ask_card": ("Please enter your card in the secure form: the number goes straight to the "
                 "payment company, never through this chat.",
                 "安全な入力フォームにカード情報をご入力ください。カード番号はこのチャットを通らず、決済会社に直接送られます。"),
    "card_below": ("Please enter your card in the secure form below.",
                   "下の安全な入力フォームにカード情報をご入力ください。"),
    "confirm": ("Here's your order for confirmation. Please check the total and press Pay to "
                "place it.",
                "ご注文内容の確認画面です。合計金額をご確認のうえ、「支払う」を押してください。"),
    "address_saved_typed": ("Thanks, I've saved your delivery address ({address}).",
                            "お届け先（{address}）を登録しました。"),
    "address_saved": ("Thanks, we'll deliver to: {address}.", "お届け先を登録しました：{address}。"),
    "methods_after_address": ("Then choose how to pay below.",
                              "住所を修正したら、下からお支払い方法をお選びください。"),
    "address_form_prefilled": ("Please check the address: {problems}. You can correct it in the form.",
                               "住所をご確認ください：{problems}フォームで修正できます。"),
    "cancel_placed": ("Your order {order} is already placed, so I can't cancel it in the chat. "
                      "Please contact the shop and we'll take care of it.",
                      "ご注文{order}はすでに確定しているため、チャットではキャンセルできません。お手数ですがお店までご連絡ください。"),
    "order_status": ("Your latest order {order} is {status} (total {total}, {method}).",
                     "最新のご注文{order}は「{status}」です（合計{total}、{method}）。"),
    "no_order": ("There's no order in this chat yet. Orders usually ship within 1–2 business days "
                 "after payment.",
                 "このチャットではまだご注文がありません。ご注文は通常、お支払い後1〜2営業日以内に発送します。"),
    "no_tools": ("I'd need the shop's tools to do that, and they aren't available right now. "
                 "Please try again in a moment.",
                 "その操作にはお店のシステムが必要ですが、現在利用できません。少し時間をおいてお試しください。"),
    "error_generic": ("Sorry, something went wrong on my side. Could you say that again?",
                      "申し訳ありません、うまく処理できませんでした。もう一度お伝えいただけますか？"),
    "error_quantity": ("You can order between {min} and {max} of one product.",
                       "1つの商品は{min}〜{max}点の範囲でご注文いただけます。"),
    "error_cart_full": ("Your cart can hold {max} different products. Please remove one first.",
                        "カートに入れられる商品は{max}種類までです。先にほかの商品を削除してください。"),
    "error_method": ("Payment after delivery is available for orders up to {limit}. Please choose "
                     "card or convenience store.",
                     "後払いは{limit}までのご注文でご利用いただけます。カードまたはコンビニ払いをお選びください。"),
    "error_no_product": ("Sorry, I couldn't find that product any more.",
                         "申し訳ありません、その商品が見つかりませんでした。"),
}

_METHOD_NAMES = {
    "card": ("credit card", "クレジットカード"),
    "after_delivery": ("payment after delivery", "後払い"),
    "konbini": ("convenience-store payment", "コンビニ払い"),
}
_STATUS_NAMES = {
    "pending_payment": ("being paid", "お支払い処理中"),
    "requires_action": ("waiting for the 3-D Secure check", "本人認証（3-Dセキュア）待ち"),
    "paid": ("paid", "お支払い済み"),
    "deferred_approved": ("approved for payment after delivery", "後払い承認済み"),
    "awaiting_screening": ("in the payment-after-delivery check", "後払い審査中"),
    "awaiting_store_payment": ("waiting for your convenience-store payment", "コンビニでのお支払い待ち"),
    "failed": ("not paid (the payment did not go through)", "お支払い未完了（決済不成立）"),
    "canceled": ("canceled", "キャンセル済み"),
}


def say(key: str, lang: Lang, **values: object) -> str:
    """The text `key` in `lang`, with `{placeholders}` filled in."""
    english, japanese = TEXTS[key]
    return (japanese if lang == "ja" else english).format(**values)


def yen(amount: int) -> str:
    """¥1,200 — the format every amount takes in replies."""
    return f"¥{amount:,}"


def method_name(method: str, lang: Lang) -> str:
    english, japanese = _METHOD_NAMES.get(method, (method, method))
    return japanese if lang == "ja" else english


def status_name(status: str, lang: Lang) -> str:
    english, japanese = _STATUS_NAMES.get(status, (status, status))
    return japanese if lang == "ja" else english


def join_sentences(parts: Sequence[str], lang: Lang) -> str:
    """Sentences joined as each language writes them (Japanese without spaces)."""
    return ("" if lang == "ja" else " ").join(part for part in parts if part)


def options(candidates: Sequence[Candidate], lang: Lang, limit: int = 4) -> str:
    """ "A (¥1,200), B (¥980) or C (¥860)" / 「A（¥1,200）、B（¥980）、C（¥860）」"""
    shown = candidates[:limit]
    if lang == "ja":
        return "、".join(f"{c.name}（{yen(c.price)}）" for c in shown)
    items = [f"{c.name} ({yen(c.price)})" for c in shown]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def listing(parts: Sequence[str], lang: Lang, *, alternatives: bool = False) -> str:
    """ "A, B and C" ("A, B or C" for a choice) / 「A、B、C」"""
    if lang == "ja":
        return "、".join(parts)
    last = " or " if alternatives else " and "
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + last + parts[-1]


# ---------------------------------------------------------------- recognising our own questions

_OFFER = ("Shall I add {quantity} × {name} to your cart?", "{name}を{quantity}点カートに入れますか？")
_OFFER_PATTERNS = (
    re.compile(r"Shall I add (\d+) × (.+?) to your cart\?"),
    re.compile(r"([^。！？]+?)を(\d+)点カートに入れますか？"),
)
_QUESTIONS: dict[str, tuple[str, ...]] = {
    "how_many": ("How many {name} would you like?", "{name}はいくつにしますか？"),
    "which": ("Which one would you like", "would you like:", "Which size would you like",
              "Which one do you mean", "どれにしますか", "サイズはどれにしますか", "どの商品ですか"),
    "checkout": ("or would you like to check out?", "ご注文手続きに進みますか？", "or check out?"),
    "clear": (TEXTS["confirm_clear"][0], TEXTS["confirm_clear"][1]),
}


def offer(name: str, quantity: int, lang: Lang) -> str:
    """The question offering to add a product; `parse_offer` reads it back on "yes"."""
    english, japanese = _OFFER
    return (japanese if lang == "ja" else english).format(name=name, quantity=quantity)


def parse_offer(text: str) -> tuple[str, int] | None:
    """(product name, quantity) of the last add offer in an earlier reply, if it ends with one."""
    english = list(_OFFER_PATTERNS[0].finditer(text))
    if english:
        last = english[-1]
        return last.group(2), int(last.group(1))
    japanese = list(_OFFER_PATTERNS[1].finditer(text))
    if japanese:
        last = japanese[-1]
        return last.group(1).strip().lstrip("。！？ "), int(last.group(2))
    return None


def asked(text: str, question: str) -> bool:
    """Whether an earlier reply asked this kind of question ("which", "checkout", "clear")."""
    return any(marker in text for marker in _QUESTIONS[question])
