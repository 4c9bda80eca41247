"""Fixed shopper-facing texts of the conversation layer, in English and Japanese.

This module only houses deterministic replies (card pasted into chat, guided mode, widget actions,
payment outcomes). They never come from a model, so they can promise exact things ("nothing was
charged"). Each entry is (English, Japanese); `say` picks one and fills `{placeholders}`.
"""

from __future__ import annotations

from typing import Literal

Locale = Literal["en", "ja"]

TEXTS: dict[str, tuple[str, str]] = {
    "card_in_chat": (
        "For your security I removed the card details from your message and did not use or store "
        "them. Please enter your card only in the secure card form below.",
        "安全のため、メッセージからカード情報を削除しました（使用・保存はしていません）。"
        "カード情報は下の安全な入力フォームにのみご入力ください。",
    ),
    "welcome": (
        "Hello! I can help you find something and pay right here in the chat. What are you "
        "looking for today?",
        "いらっしゃいませ！商品探しからお支払いまで、このチャットでお手伝いします。何をお探しですか？",
    ),
    "guided_intro": (
        "Sorry, our assistant is not available right now, but you can still shop with the buttons "
        "below.",
        "申し訳ありません。現在アシスタントが応答できませんが、下のボタンでお買い物を続けられます。",
    ),
    "guided_found": ("Here is what matches your words:", "お探しの商品はこちらです："),
    "guided_browse": (
        "Tell me a product name (for example \"green tea\" or \"mug\") to see products.",
        "商品名（例：「緑茶」「マグ」）を入力すると商品が表示されます。",
    ),
    "added": ("Added {quantity} × {name} to your cart.", "{name}を{quantity}点カートに追加しました。"),
    "removed": ("Removed {name} from your cart.", "{name}をカートから削除しました。"),
    "cart_empty": ("Your cart is empty.", "カートは空です。"),
    "cart_here": ("Here is your cart.", "現在のカートです。"),
    "ask_address": ("Where should we deliver? Please fill in the address.",
                    "お届け先をご入力ください。"),
    "address_saved": ("Thanks, we will deliver to: {address}", "お届け先：{address}"),
    "address_invalid": ("Please check the highlighted fields.",
                        "入力内容をご確認ください。"),
    "ask_method": ("How would you like to pay?", "お支払い方法をお選びください。"),
    "method_chosen": ("Payment method: {method}.", "お支払い方法：{method}"),
    "ask_card": ("Please enter your card in the secure form (it goes straight to the payment "
                 "company; we never see the number).",
                 "安全な入力フォームにカード情報をご入力ください（カード番号は決済会社に直接送られ、当店には届きません）。"),
    "card_accepted": ("Card {brand} ending {last4} is ready.",
                      "{brand}（下4桁 {last4}）のカードを受け付けました。"),
    "confirm_ready": ("Please check your order and press Pay to place it.",
                      "ご注文内容をご確認のうえ、「支払う」を押してください。"),
    "paid": ("Thank you! Your payment of {total} is complete. Order number: {order_id}.",
             "ありがとうございます！{total}のお支払いが完了しました。注文番号：{order_id}"),
    "deferred_approved": (
        "Thank you! Your order is placed; the invoice for {total} comes with the goods "
        "(payment after delivery). Order number: {order_id}.",
        "ありがとうございます！ご注文を承りました。{total}の請求書は商品に同封されます（後払い）。注文番号：{order_id}",
    ),
    "awaiting_screening": (
        "Your order is placed and the payment-after-delivery check is under review; we will let "
        "you know the result. Order number: {order_id}.",
        "ご注文を承りました。後払いの審査中です。結果をお知らせします。注文番号：{order_id}",
    ),
    "konbini_slip": (
        "Your order is reserved. Please pay {total} at the convenience store by {deadline} with "
        "the slip below; we ship once the payment arrives. Order number: {order_id}.",
        "ご注文を承りました。下の払込票で{deadline}までにコンビニで{total}をお支払いください。"
        "入金確認後に発送します。注文番号：{order_id}",
    ),
    "threeds": ("Your card company asks you to confirm this payment. Please complete the check "
                "below.", "カード会社による本人認証が必要です。下の画面で認証を完了してください。"),
    "declined": (
        "The card was declined ({reason}); nothing was charged. Please try another card.",
        "カードが承認されませんでした（{reason}）。請求は発生していません。別のカードをお試しください。",
    ),
    "screening_rejected": (
        "Sorry, payment after delivery is not available for this order; nothing was charged. "
        "Please choose another payment method.",
        "申し訳ありません。このご注文では後払いをご利用いただけません（請求は発生していません）。"
        "別のお支払い方法をお選びください。",
    ),
    "payment_failed": ("The payment could not be completed ({reason}); nothing was charged.",
                       "お支払いを完了できませんでした（{reason}）。請求は発生していません。"),
    "payment_pending": (
        # Said for every method (a second click on Pay while the first is still at the gateway),
        # so it names no card company.
        "We are still confirming the payment. You will not be charged twice; "
        "please check back in a moment.",
        "お支払いの結果を確認中です。二重に請求されることはありません。しばらくしてからご確認ください。",
    ),
    "order_exists": ("This order was already placed (status: {status}).",
                     "このご注文はすでに承っています（状態：{status}）。"),
    "missing": ("Before checkout we still need: {missing}.", "ご注文の前に次の情報が必要です：{missing}。"),
    "cleared": ("Your cart is now empty. What would you like?", "カートを空にしました。何をお探しですか？"),
}

REASONS: dict[str, tuple[str, str]] = {
    "card_declined": ("declined by the card issuer", "カード会社により承認されませんでした"),
    "insufficient_funds": ("insufficient funds or credit", "ご利用可能枠の不足"),
    "expired_card": ("the card has expired", "カードの有効期限切れ"),
    "incorrect_cvc": ("the security code is incorrect", "セキュリティコードの誤り"),
    "unknown_card": ("the card number is not recognised", "カード番号を確認できません"),
    "processing_error": ("a processing error at the card company", "カード会社の処理エラー"),
    "threeds_failed": ("the identity check (3-D Secure) failed", "本人認証（3-Dセキュア）の失敗"),
    "token_invalid": ("the card entry expired", "カード入力の有効期限切れ"),
    "limit_exceeded": ("over the limit for this payment method", "ご利用上限の超過"),
    "not_charged": ("the payment did not go through", "決済が完了しませんでした"),
}

QUICK_REPLY_LABELS: dict[str, tuple[str, str]] = {
    "view_cart": ("View cart", "カートを見る"),
    "checkout": ("Checkout", "レジに進む"),
    "payment_methods": ("Payment method", "支払い方法を選ぶ"),
    "enter_card": ("Enter card", "カードを入力"),
    "confirm": ("Review and pay", "確認して支払う"),
    "start_over": ("Start over", "最初からやり直す"),
}

METHOD_NAMES: dict[str, tuple[str, str]] = {
    "card": ("credit card", "クレジットカード"),
    "after_delivery": ("payment after delivery", "後払い"),
    "konbini": ("convenience store", "コンビニ払い"),
}


def say(key: str, locale: Locale, **values: object) -> str:
    """The text for `key` in `locale`, with `{placeholders}` filled."""
    en, ja = TEXTS[key]
    return (ja if locale == "ja" else en).format(**values)


def yen(amount: int) -> str:
    """¥3,000 — the same in both languages."""
    return f"¥{amount:,}"


def reason_text(code: str | None, locale: Locale) -> str:
    """A shopper-readable reason for a payment failure code."""
    en, ja = REASONS.get(code or "", (code or "unknown reason", code or "不明な理由"))
    return ja if locale == "ja" else en


def method_name(method: str, locale: Locale) -> str:
    en, ja = METHOD_NAMES.get(method, (method, method))
    return ja if locale == "ja" else en


def _has_japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uff66" <= ch <= "\uff9f"
               for ch in text)


def reply_locale(text: str, default: Locale) -> Locale:
    """Answer in the language the shopper just wrote in (Japanese if any kana or kanji)."""
    if _has_japanese(text):
        return "ja"
    if any(ch.isalpha() for ch in text):
        return "en"
    return default
