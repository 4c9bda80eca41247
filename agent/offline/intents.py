"""From one shopper message to an intent and its entities (items, quantities, method, address).

This module only houses the reading of a single message, English or Japanese: which of a fixed set
of intents it expresses, checked in a fixed priority order (card data and manipulation first, then
address, cart edits, questions, checkout, browsing, small talk), and the entities the intent needs.
It knows nothing about the cart or the products shown: `policy` decides what the words refer to.

Limits of the rules: one intent per message (plus "and check out" after adding items); items are
split on "and", commas, "、" and "と"; phrasings outside these patterns fall through to "mention"
(some product words: the policy searches or asks) or "unknown" (the reply offers help). Negation
inside a sentence ("I don't want the mug, I want the cup") is not understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from agent.offline.address_text import AddressText, mentions_address, read_address
from agent.offline.entities import ItemRequest, find_items
from agent.offline.language import Lang, detect_language, find_quantity, nfkc
from agent.offline.products import concepts_in
from agent.redaction.kinds import CARD_NUMBER_TOKEN

__all__ = ["IntentKind", "Method", "Understanding", "understand"]

IntentKind = Literal[
    "card_removed", "manipulation", "off_topic", "address", "address_form", "cancel_order",
    "clear_cart", "order_status", "card_form", "delivery", "shipping", "payment_info",
    "payment_method", "remove", "set_quantity", "add_another", "view_cart", "total", "checkout",
    "price", "stock", "details", "compare", "catalog", "next_step", "low_caffeine", "help",
    "recommend", "search",
    "add", "thanks", "greeting", "affirm", "deny", "mention", "unknown",
]  # fmt: skip
Method = Literal["card", "after_delivery", "konbini"]


@dataclass(frozen=True, slots=True)
class Understanding:
    """What one message says, as far as the rules can tell."""

    intent: IntentKind
    lang: Lang
    text: str
    items: tuple[ItemRequest, ...] = ()
    quantity: int | None = None
    method: Method | None = None
    address: AddressText | None = None
    checkout: bool = False  # "... and check out" / "カードで購入します": go on to checkout after
    order_id: str | None = None
    ask_first: bool = False  # an ambiguous "やめます": ask before emptying the cart

    @property
    def named_items(self) -> tuple[ItemRequest, ...]:
        return tuple(item for item in self.items if item.names_something)


def _rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_MANIPULATION = _rx(
    r"ignore\s+(?:all\s+|any\s+)?(?:(?:your|previous|prior|the|above|earlier|these|those|my|system)"
    r"\s+)*(?:instructions|rules|prompts?|guidelines|directions|orders)"
    r"|disregard\s+(?:all\s+|your\s+|the\s+|previous\s+|prior\s+)+|forget\s+(?:all\s+)?(?:your|the|"
    r"previous)\s+(?:instructions|rules|prompt)|(?:developer|dev|god|admin|debug)\s+mode|jailbreak"
    r"|\bDAN\b|you\s+are\s+now\b|act\s+as\s+(?:an?\s+)?(?:admin|developer|system|shop\s+owner)"
    r"|pretend\s+(?:to\s+be|you)|^\s*(?:system|assistant|admin|developer)\s*[:：]|system\s+prompt"
    r"|new\s+instructions|\boverride\b"
    r"|make\s+(?:it|this|them|that|everything|the\s+(?:order|cart|total)|my\s+(?:order|cart)|all)"
    r"\s+(?:\w+\s+)?free\b|\bfor\s+free\b|free\s+of\s+charge|at\s+no\s+cost|\bno\s+charge"
    r"|\bdiscount|\bcoupon|\bpromo(?:tion)?\s+code|\bvoucher|\b\d+\s*%\s*off\b|\bhalf[- ]price"
    r"|(?:set|change|make|lower|reduce|update|adjust)\s+(?:the\s+|its\s+|my\s+)?(?:price|total|cost"
    r"|amount)|(?:price|total|cost|amount)\s+(?:is|=|should\s+be|to|of)\s+(?:now\s+)?[¥]?\s*[01]\s*"
    r"(?:yen\b|円|$)|\b(?:1|one|0|zero)\s+yen\b|[¥]\s*[01](?![\d,])|skip\s+(?:the\s+)?payment"
    r"|without\s+pay(?:ing|ment)|don'?t\s+charge|\bno\s+payment|cheaper\s+price|lower\s+price"
    r"|(?<!送料)無料に|(?<!送料)無料で|タダ|ただにして|ただで(?:ちょうだい|ください|いい)|割引|値引|まけて"
    r"|負けて|安くして|値下げ|半額|(?<![\d,])0円|(?<![\d,])1円に|一円に|(?:価格|値段|金額|合計)を?(?:変更|変え"
    r"|下げ|0|1円)|指示を?無視|命令を?無視|開発者モード|管理者モード|デバッグモード|システム[:：]|プロンプト"
    r"|クーポン|お金を?払わ|支払わず|払わずに|支払いなしで|払いたくない"
)
_OFF_TOPIC = _rx(
    r"\bweather\b|\bpoems?\b|\bhaiku\b|\bsongs?\b|\blyrics\b|\bjokes?\b|tell\s+me\s+a\s+story"
    r"|\bnews\b|\bpolitic|\bpresident\b|prime\s+minister|capital\s+of|\brecipes?\b|\btranslate\b"
    r"|\bhomework\b|write\s+(?:me\s+)?(?:a|an|some)\s+(?:code|program|essay|letter|story|email)"
    r"|\bpython\b|\bjavascript\b|stock\s+market|\bbitcoin\b|\bcrypto|\bmovies?\b|\bfootball\b"
    r"|\bsoccer\b|\bbaseball\b|meaning\s+of\s+life|天気|詩を|俳句|歌詞|ジョーク|冗談|ニュース|政治|首相|大統領"
    r"|首都|レシピ|翻訳|宿題|プログラム|株価|映画|サッカー|野球|人生の意味|物語を"
)
_ADDRESS_FORM = _rx(
    r"(?:change|update|edit|enter|add|set|fix|correct)\s+(?:my\s+|the\s+|a\s+)?(?:shipping\s+|delivery"
    r"\s+)?address|\baddress\s+form|ship\s+(?:it\s+)?to\s+(?:a\s+)?(?:different|another|new)"
    r"|(?:住所|お届け先|届け先|送り先|配送先)を?(?:入力|変更|修正|登録|変え|訂正)"
    r"|^\s*(?:please\s+)?(?:ship|deliver|send)\s+(?:it\s+|them\s+)?to\b|\bmy\s+address\b"
    r"|^\s*(?:住所|お届け先|届け先|送り先|配送先)(?:は|を)?\s*[?？]?\s*$"
    # "Sorry, wrong address": a correction is coming; show the form to fix it.
    r"|wrong\s+(?:shipping\s+|delivery\s+)?address|address\s+(?:is|was)\s+(?:wrong|incorrect|not\s+right)"
    r"|(?:住所|お届け先|届け先|送り先|配送先)(?:を|が|は)?(?:間違|まちが|違って|ちがって)"
)
_CANCEL_ORDER = _rx(r"cancel\s+(?:my\s+|the\s+|this\s+)?order|注文を?(?:キャンセル|取り消)")
_CLEAR = _rx(
    r"\bstart\s+(?:over|again|afresh|from\s+scratch)|\b(?:clear|empty|reset)\s+(?:out\s+)?(?:my\s+|the"
    r"\s+)?(?:cart|basket)|\b(?:remove|delete|cancel|drop|clear)\s+(?:everything|it\s+all|all\b)"
    r"|\bforget\s+(?:everything|it\s+all)|^\s*(?:cancel|reset|start\s+over)\s*[.!]?\s*$"
    r"|(?:全部|すべて|全て)(?:を)?(?:キャンセル|削除|消して|取り消|やめ|いらない)|カートを?(?:空|から)に"
    r"|カートを?(?:クリア|リセット)|最初から|やり直|リセット|^\s*キャンセル(?:して|します|で)?\s*[。!！]?\s*$"
)
_ORDER_STATUS = _rx(
    r"order\s+status|status\s+of\s+(?:my\s+)?order|\bstatus\b|where\s+is\s+my\s+(?:order|package|"
    r"parcel)|has\s+my\s+order|did\s+my\s+(?:order|payment)\s+go\s+through|(?:my|the)\s+order\s+"
    r"(?:shipped|arrived|confirmed)|track(?:ing)?\s+(?:my\s+)?(?:order|package)|was\s+(?:i|my\s+card)"
    r"\s+charged|注文(?:状況|の状況|の状態|状態|ステータス)|注文(?:は|って)どう|ステータス|配送状況"
    r"|発送(?:状況|されました|済み)|荷物は?どこ|(?:支払い|決済)は?(?:完了|済ん|できた)"
)
_ORDER_ID = _rx(r"\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
_CARD_FORM = _rx(
    r"(?:enter|add|input|type\s+in|update|change|register)\s+(?:my\s+|a\s+|the\s+|new\s+)*(?:credit\s+)?"
    r"card|(?:use|try)\s+(?:a\s+)?(?:different|another|new|other)\s+card|card\s+(?:details|form|number|"
    r"info)|カード(?:情報|番号)|カードを?(?:入力|登録|変更|追加)|別のカード"
)
_DELIVERY = _rx(
    r"when\s+(?:will|would|does|do|can|is)\s+(?:it|they|my\s+\w+|the\s+\w+|i|this)\s+(?:arrive|ship|be"
    r"\s+(?:delivered|shipped|here|sent)|get\s+(?:it|them|here)|come|receive|go\s+out)|how\s+long\s+"
    r"(?:does|will|would|until|for)|how\s+(?:soon|fast|quickly)|delivery\s+(?:time|date|days?|speed)"
    r"|shipping\s+(?:time|speed|days?)|\beta\b|\barrive|いつ(?:届|着|発送|頃|ごろ)|届くまで|何日|到着"
    r"|お届け(?:日|まで)|発送(?:は|って)?いつ|配送日数|いつ頃|いつごろ|すぐ届"
)
_SHIPPING = _rx(
    r"\bshipping\b|postage|delivery\s+(?:fee|cost|charge)s?|free\s+delivery|送料|配送料|配送費|配達料"
)
_METHODS: tuple[tuple[Method, re.Pattern[str]], ...] = (
    ("after_delivery", _rx(
        r"pay(?:ing|ment)?\s+later|after\s+(?:the\s+)?deliver(?:y|ed)|on\s+delivery|when\s+(?:it|they|the"
        r"\s+goods)\s+arrives?|\binvoice\b|deferred|\bbnpl\b|後払い|あと払い|後から払|届いてから(?:払|支払)"
        r"|請求書")),
    ("konbini", _rx(
        r"convenience\s*store|\bkonbini\b|\bconbini\b|\bcombini\b|\b7-?eleven\b|seven[- ]?eleven"
        r"|\blawson\b|family\s?mart|コンビニ|セブン|ローソン|ファミマ|ファミリーマート|ミニストップ")),
    ("card", _rx(
        r"(?<!post)(?<!post\s)\bcards?\b|\bcredit\b|\bvisa\b|master\s?card|\bamex\b|american\s+express"
        r"|\bjcb\b|\bdiners\b|クレジット|クレカ|(?<!ポスト)カード")),
)
_PAYMENT_INFO = _rx(
    r"how\s+(?:can|do|could|should|may)\s+i\s+pay|payment\s+(?:methods?|options?|types?)|ways?\s+to\s+pay"
    r"|what\s+(?:payment|can\s+i\s+pay)|(?:do|can)\s+you\s+(?:accept|take|support)|can\s+i\s+(?:pay|use)"
    r"|is\s+(?:it\s+)?(?:\w+\s+){0,3}(?:accepted|possible)\b|3-?d\s*secure|\bfees?\b"
    r"|支払い?方法|支払方法|払い方|決済方法|どうやって(?:払|支払)|(?:使え|利用でき|選べ)(?:ます|る)[?？か]"
    r"|手数料|3-?Dセキュア|本人認証|何が使え|どの支払"
)
_REMOVE = _rx(
    r"\b(?:remove|delete|take\s+(?:out|off|away)|drop|get\s+rid\s+of|cancel|scrap|ditch)\b"
    r"|\btake\s+(?:the\s+|that\s+|this\s+|my\s+)?[\w\s-]{1,40}?\s+(?:out|off)\b"
    r"|\bdon'?t\s+(?:want|need)\b|\bno\s+more\b|\bwithout\s+(?:the\s+)?\w"
    r"|^\s*no\s+(?!thanks?\b|thank\b|thx\b|problem\b|worries\b|need\b|way\b)[a-z]"
    r"|削除|消して|外して|はずして|取り消|抜いて|いらない|要らない|いりません|不要|やめ(?:る|ます|て|た)"
    r"|キャンセル|なしで|を?除いて"
)
_SET_QUANTITY = _rx(
    r"\b(?:make|change|set|update|adjust|reduce|increase|lower|bump|decrease|cut)\b|\binstead\b"
    r"|\bactually\b|\bquantity\b|\bqty\b|\bonly\s+(?:want|need|get)\b|\bi\s+(?:want|need)\s+only\b"
    r"|に(?:して|変更|変え|減らし|増やし|する|修正|訂正)|だけに|だけで|やっぱり|やはり|数量|個数|変更"
)
_ADD_ANOTHER = _rx(
    r"\banother\b|\bone\s+more\b|\b(?:two|three|four|five|six|\d+)\s+more\b|\bmore\s+of\s+(?:that|those"
    r"|the\s+same|it)|\bsame\s+again\b|\bextra\s+one\b|もう(?:ひとつ|ふたつ|一つ|二つ|一個|一本|[0-9]+\s*"
    r"(?:つ|個|本|袋|枚|点|箱|缶))|追加で(?:ひとつ|一つ|[0-9])|同じもの(?:を|をもう)"
)
_VIEW_CART = _rx(
    r"\b(?:show|see|view|check|open|display|review)\s+(?:me\s+)?(?:my\s+|the\s+)?(?:cart|basket)\b"
    r"|what'?s\s+in\s+(?:my|the)\s+(?:cart|basket)|^\s*(?:my\s+)?(?:cart|basket)\s*\??"
    r"\s*$|what\s+(?:do\s+i\s+have|did\s+i\s+(?:add|pick))|カート(?:の中身|を?見(?:せ|た)|を?確認|に何"
    r"|の内容|の中)|^\s*カート\s*[?？]?\s*$|何が入って"
)
_TOTAL = _rx(
    r"\btotal\b|how\s+much\s+(?:is\s+(?:it|that|everything)\s+)?(?:in\s+total|altogether|all\s+together"
    r"|overall|do\s+i\s+(?:owe|pay|have\s+to\s+pay))|how\s+much\s+(?:is|will\s+be)\s+(?:my|the)\s+(?:order"
    r"|cart|bill)|合計|全部で(?:いくら|何円)|総額|トータル|お会計(?:は|って)?(?:いくら|何円)|いくらになり"
    r"|支払(?:い|う)?(?:金額|額)"
)
_CHECKOUT = _rx(
    r"check\s*-?\s*out|proceed\s+to\s+(?:checkout|payment|pay)|i'?m\s+(?:done|finished|ready)"
    r"|(?:that'?s|thats)\s+(?:all|it|everything)|ready\s+to\s+(?:pay|order|buy|check)|\bpay\s+now\b"
    r"|let'?s\s+(?:pay|check|order|buy)|place\s+(?:the|my|an)\s+order|complete\s+(?:the\s+|my\s+)?"
    r"(?:order|purchase)|finish\s+(?:the\s+|my\s+)?(?:order|purchase|shopping)"
    r"|^\s*(?:pay|done|finish|buy|purchase|confirm)\s*[.!]?\s*$|レジ|お会計|会計|購入(?:します|する|手続き"
    r"|したい|へ|に進)|注文(?:します|する|を?確定|を?手続き|したい)|支払(?:い|う|います)?(?:に進|ます|たい)"
    r"|決済(?:する|します|に進)|以上です|以上で|それで全部|手続き|精算"
)
_PRICE = _rx(r"how\s+much|\bprices?\b|\bcosts?\b|いくら|値段|価格|何円|おいくら")
_STOCK = _rx(
    r"in\s+stock|\bstock\b|\bavailable\b|availability|sold\s+out|any\s+left|how\s+many\s+(?:left|do\s+you"
    r"\s+have|are\s+there)|\bleft\b\s*\??$|在庫|残り|売り切れ|まだありますか|何個あり|入荷"
)
_DETAILS = _rx(
    r"tell\s+me\s+(?:more\s+)?about|more\s+(?:info|information|details)|\bdetails?\b|describe"
    r"|what\s+is\s+(?!my\b|the\s+total\b|in\b)|what'?s\s+(?:the\s+)?\w+(?:\s+\w+)?\s+like|what\s+are\s+the"
    r"|詳しく|詳細|説明|について|とは|どんな|特徴|どういう"
)
_HELP = _rx(
    r"\bhelp\b|what\s+can\s+you\s+do|how\s+does\s+(?:this|it)\s+work|what\s+do\s+you\s+do\s*\??$"
    r"|who\s+are\s+you|what\s+are\s+you|何ができ|使い方|ヘルプ|助けて|どうすれば"
)
# "What do you sell?": the shop's range. Only without any product word ("what teas do you have?" is
# a search), so it is checked against the vocabulary before it is used.
_CATALOG = _rx(
    r"what\s+(?:kinds?|sorts?|types?)\s+of\s+(?:things|products|stuff|items|goods)"
    r"|what\s+(?:do|can)\s+you\s+(?:sell|have|offer|carry|stock)\b|what\s+(?:products|things|items"
    r"|goods)\s+(?:do|are)\b|what'?s\s+(?:for\s+sale|on\s+offer|available)|your\s+(?:range|catalog(?:ue)?"
    r"|products)\b|何を売って|何を扱って|何がありますか|何が買え|どんな(?:商品|もの|物)(?:が|を)?(?:あり|売って"
    r"|扱って|置いて|買え)|取り?扱い商品|品揃え|商品一覧|(?:商品|品物)は何が"
)
# "Which tea has little caffeine?": a model knows hojicha is low in caffeine and barley tea has none.
_LOW_CAFFEINE = _rx(r"low[- ]caffeine|less\s+caffeine|little\s+caffeine|カフェイン(?:が|の)?(?:少な|控えめ"
                    r"|低)|低カフェイン")
# "Caffeine-free", "ノンカフェイン" alone is the decaf coffee; about tea it is the same question.
_NO_CAFFEINE = _rx(r"(?:caffeine|caffiene)[- ]free|no\s+caffeine|without\s+caffeine|カフェイン(?:が|の)?"
                   r"(?:なし|無し|ゼロ|フリー|が?入っていない)|ノンカフェイン|カフェインレス")
# "What should I do next?": where the shopper stands and what comes next.
_NEXT_STEP = _rx(
    r"what\s+(?:should|do|can)\s+i\s+do\s+(?:next|now)|what(?:'s|\s+is)?\s+(?:the\s+)?next(?:\s+step)?"
    r"\s*\??$|what\s+now\b|now\s+what\b|next\s+step|what\s+do\s+i\s+do\b|how\s+do\s+i\s+(?:order|buy"
    r"|proceed|continue)\b|次は?(?:何|なに|どう)|次に(?:何|なに|どう)|次のステップ|何をすればいい|どう(?:すれば|したら)"
    r"(?:いい|良い)"
)
# "What's the difference between the Brazil and the Ethiopia beans?": describe, never add.
_COMPARE = _rx(
    r"(?:what'?s|what\s+is|what\s+are)?\s*(?:the\s+)?differen(?:ce|ces|t)\s+(?:between|from)?"
    r"|\bcompare[ds]?\b|\bcomparison\b|\bvs\.?(?=\s)|\bversus\b|which\s+(?:one\s+)?(?:is|tastes)"
    r"\s+(?:better|stronger|milder|sweeter|nicer|more\s+\w+)|違い|比べ|比較|どっちが|どちらが"
)
_RECOMMEND = _rx(
    r"recommend|suggest|what'?s\s+(?:good|popular)|best\s*sell|\bpopular\b|gift\s+ideas?"
    r"|おすすめ|オススメ|お勧め|お薦め|人気|売れ筋"
)
_SEARCH = _rx(
    r"do\s+you\s+(?:have|sell|carry|stock|got)|have\s+you\s+got|looking\s+for|search\s+for|\bfind\b"
    r"|show\s+me|\blet\s+me\s+see|\bany\b.*\?|\bsomething\s+(?:for|to|like)|what\s+(?:kinds?|types?"
    r"|sorts?)\s+of|\bbrowse\b|\bis\s+there\b|\bare\s+there\b|ありますか|ある[?？]|あります[?？]|ないですか"
    r"|ありません[か?？]|探して|さがして|見せて|みせて|見たい|置いて(?:ます|ある)|売って(?:ます|る)|扱って|何か"
)
_ADD = _rx(
    r"\badd\b|\bput\b|\bthrow\b|i'?ll\s+(?:take|have|get|buy|grab)|i'?d\s+like|i\s+(?:would\s+like|want"
    r"|wanna|need)|\bgive\s+me\b|\bget\s+me\b|\bgrab\b|\bbuy\b|\border\b|\btake\b|\bgimme\b"
    r"|can\s+i\s+(?:have|get)|ください|下さい|ちょうだい|頂戴|入れて|いれて|追加|買います|買う|買いたい"
    r"|購入|注文|にします|にする|お願い|欲しい|ほしい|もらえ|いただけ|頂け|[^\s]で[。!！]?$"
)
_GREETING = _rx(
    r"^\s*(?:hi|hello|hey|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day))\b"
    r"|こんにちは|こんばんは|おはよう|はじめまして|やあ|^\s*どうも[。!！]?\s*$"
)
# "I'm back", "ただいま": a greeting on returning, not a product called "back".
_RETURNING = _rx(r"\bi'?m\s+back\b|\bi\s+am\s+back\b|\bwe'?re\s+back\b|\bback\s+again\b|ただいま"
                 r"|戻りました|戻ってきました")
_THANKS = _rx(r"\bthanks?\b|thank\s+you|\bthx\b|\bty\b|\bcheers\b|appreciate|ありがとう|有難う|サンキュー"
              r"|助かり")
_AFFIRM = _rx(
    r"^\s*(?:yes|yeah|yep|yup|sure|ok|okay|alright|please\s+do|go\s+ahead|do\s+it|sounds\s+good"
    r"|correct|perfect|great|please)\b|^\s*(?:はい|うん|ええ|お願いします|おねがいします|それで(?:お願いします)?"
    r"|オッケー|OK|了解|そうです|そうして)[。!！、]?"
)
_DENY = _rx(
    r"^\s*(?:no|nope|nah|not\s+now|nothing(?:\s+else)?|i'?m\s+good|never\s?mind|maybe\s+later)\b"
    r"|^\s*(?:いいえ|いや|結構です|けっこうです|大丈夫です|いいです|いらない|要らない|ないです|やめておきます"
    r"|今はいい)"
)
_OR = _rx(r"\bor\b|それとも|か(?=[\u3400-\u9fff\u30a0-\u30ff])")
_ADD_VERB = _rx(r"\badd\b|追加")
_MORE_ABOUT_IT = _rx(r"tell\s+me\s+more|more\s+(?:info|information|details)|詳しく|詳細|説明して")


def understand(text: str, fallback: Lang) -> Understanding:
    """Read one shopper message (see the module docstring for the order of the rules)."""
    t = nfkc(text).strip()
    said = Understanding("unknown", detect_language(t, fallback), t)

    def u(intent: IntentKind, **entities: Any) -> Understanding:
        return replace(said, intent=intent, **entities)

    if CARD_NUMBER_TOKEN in t:
        return u("card_removed")
    if _MANIPULATION.search(t):
        return u("manipulation")
    if _OFF_TOPIC.search(t):
        return u("off_topic")
    method = _method(t)
    wants_checkout = bool(_CHECKOUT.search(t))
    if mentions_address(t):
        return u("address", address=read_address(t), method=method, checkout=wants_checkout)
    if _ADDRESS_FORM.search(t):
        return u("address_form")
    if _CANCEL_ORDER.search(t):
        return u("cancel_order")
    if _CLEAR.search(t):
        return u("clear_cart")
    if _ORDER_STATUS.search(t):
        order = _ORDER_ID.search(t)
        return u("order_status", order_id=order.group(1) if order else None)
    if _CARD_FORM.search(t):
        return u("card_form")
    if _DELIVERY.search(t):
        return u("delivery")
    if _SHIPPING.search(t) and not method:
        return u("shipping")
    if method is not None:
        if _PAYMENT_INFO.search(t) or t.rstrip().endswith(("?", "？")):
            return u("payment_info", method=method)
        # "Two sencha, and I'll pay by card": the items first, then the method.
        rest = _without_methods(t)
        extra = find_items(_CHECKOUT.sub(" ", rest))
        if any(item.phrase for item in extra) and (_ADD.search(rest) or find_quantity(rest)):
            return u("add", items=extra, method=method, checkout=True)
        return u("payment_method", method=method)
    if _PAYMENT_INFO.search(t):
        return u("payment_info")
    mentioned = concepts_in(t)
    if _CATALOG.search(t) and not mentioned:
        return u("catalog")
    if _NEXT_STEP.search(t) and not mentioned:
        return u("next_step")
    if "coffee" not in mentioned and (_LOW_CAFFEINE.search(t) or (
            _NO_CAFFEINE.search(t) and mentioned & {"tea", "green_tea", "black_tea"})):
        return u("low_caffeine")
    if _COMPARE.search(t):
        both = find_items(_OR.sub(" and ", _COMPARE.sub(" ", t)))
        compared = tuple(item for item in both if item.names_something)
        if compared:
            return u("compare", items=compared)

    returning = bool(_RETURNING.search(t))
    spoken = _RETURNING.sub(" ", t)
    items = find_items(_CHECKOUT.sub(" ", spoken) if wants_checkout else spoken)
    named = tuple(item for item in items if item.names_something)
    quantity = find_quantity(t)
    has_words = any(item.phrase for item in items)

    if _REMOVE.search(t) and named:
        return u("remove", items=named)
    if _SET_QUANTITY.search(t) and quantity is not None and not _ADD_VERB.search(t):
        return u("set_quantity", items=items, quantity=quantity.value)
    if _ADD_ANOTHER.search(t):
        more = _more_quantity(t)
        return u("add_another", items=named, quantity=more)
    if _VIEW_CART.search(t):
        return u("view_cart")
    if _TOTAL.search(t):
        return u("total")
    if wants_checkout and not has_words:
        return u("checkout")
    if _PRICE.search(t):
        return u("price", items=named)
    if _STOCK.search(t):
        return u("stock", items=named)
    if (_DETAILS.search(t) and named) or _MORE_ABOUT_IT.search(t):
        return u("details", items=named)
    if _HELP.search(t):
        return u("help")
    if _RECOMMEND.search(t):
        return u("recommend", items=named)
    if _SEARCH.search(t) and named:
        return u("search", items=named)
    if (_ADD.search(t) or quantity is not None) and items:
        # A bare count ("二個ください", "I'll take two") is about the product being discussed.
        return u("add", items=items, checkout=wants_checkout)
    if _REMOVE.search(t) and not has_words and _DENY.search(t) is None:
        return u("clear_cart", ask_first=True)
    if _DENY.search(t):
        return u("deny")
    if _THANKS.search(t) and not has_words:
        return u("thanks")
    if (_GREETING.search(t) or returning) and not has_words:
        return u("greeting")
    if _AFFIRM.search(t):
        return u("affirm", items=named)
    if named:
        return u("mention", items=named)
    return u("unknown")


def _method(t: str) -> Method | None:
    for method, pattern in _METHODS:
        if pattern.search(t):
            return method
    return None


def _without_methods(t: str) -> str:
    for _, pattern in _METHODS:
        t = pattern.sub(" ", t)
    return t


def _more_quantity(t: str) -> int:
    """How many more: "two more" → 2, "もう3つ" → 3, "another" → 1."""
    found = find_quantity(t)
    return found.value if found is not None else 1
