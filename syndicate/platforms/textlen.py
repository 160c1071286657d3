"""Exact length counters for platform limits.

`mastodon_length` mirrors Mastodon's server-side `StatusLengthValidator#countable_text`: URLs
found by twitter-text's extractor (with Mastodon's regex overrides) count as a fixed length,
remote mentions count as their local part, and everything else counts grapheme clusters. The
URL pattern is ported piece by piece so our count and the server's agree on the edge cases
(trailing punctuation, balanced parentheses, unknown TLDs) that decide whether a post is
accepted or refused with a 422.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import regex

MASTODON_URL_LENGTH = 23
# twitter-text refuses URLs longer than this (its backend limit); Mastodon inherits the check.
_MAX_URL_LENGTH = 4096
# A t.co slug longer than this is not a t.co URL to twitter-text.
_MAX_TCO_SLUG_LENGTH = 40

_GRAPHEME = regex.compile(r"\X")
_BLANK = regex.compile(r"\p{White_Space}*")


_Trie = dict[str, "_Trie"]


class _Entity(NamedTuple):
    start: int
    end: int
    replacement: str | None  # None: a URL, counted as the URL length


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Mastodon and Bluesky count."""
    return len(_GRAPHEME.findall(text))


def mastodon_length(text: str, url_length: int = MASTODON_URL_LENGTH) -> int:
    """Length of a status as Mastodon's validator counts it (spoiler text not included)."""
    # Ruby's `str.blank?` short-circuits countable_text: whitespace-only text counts 0.
    if _BLANK.fullmatch(text):
        return 0
    pieces: list[str] = []
    position = 0
    for entity in _entities(text):
        pieces.append(text[position : entity.start])
        pieces.append("x" * url_length if entity.replacement is None else entity.replacement)
        position = entity.end
    pieces.append(text[position:])
    # Count the rewritten text as a whole, as the server does: a combining mark after a URL
    # joins the placeholder's last cluster rather than counting on its own.
    return grapheme_length("".join(pieces))


def find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every URL Mastodon would count at the URL length, in order."""
    return [(e.start, e.end) for e in _entities(text) if e.replacement is None]


def _entities(text: str) -> list[_Entity]:
    """URLs and remote mentions, overlaps removed the way twitter-text does it."""
    candidates = sorted(_url_entities(text) + _mention_entities(text), key=lambda e: e.start)
    kept: list[_Entity] = []
    for entity in candidates:
        if not kept or kept[-1].end <= entity.start:
            kept.append(entity)
    return kept


def _url_entities(text: str) -> list[_Entity]:
    # Mastodon counts only URLs with a protocol, so without "://" there are none. This also
    # keeps the (quadratic, as in Ruby) scan of long dotted words off the common path.
    if "://" not in text:
        return []
    found: list[_Entity] = []
    # Scheme-less matches are still scanned (and skipped) so that, as in Ruby's `scan`, they
    # consume their text: "example.com/https://x.org" holds no countable URL.
    for match in _url_pattern().finditer(text):
        if match.group("protocol") is None:
            continue
        start, end = match.span("url")
        tco = _TCO.match(match.group("url"))
        if tco is not None:
            if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
                continue
            end = start + len(tco.group(0))
        if _is_valid_domain(end - start, match.group("domain")):
            found.append(_Entity(start, end, None))
    return found


def _is_valid_domain(url_length: int, domain: str) -> bool:
    """twitter-text's `is_valid_domain`: IDNA-encodable and within the URL length cap."""
    try:
        encoded = domain.encode("idna")
    except UnicodeError:
        return False
    return url_length + max(0, len(encoded) - len(domain)) <= _MAX_URL_LENGTH


def _mention_entities(text: str) -> list[_Entity]:
    if "@" not in text:
        return []
    found: list[_Entity] = []
    for match in _MENTION.finditer(text):
        if _END_MENTION.match(text, match.end()):
            continue
        screen_name: str = match.group(1)
        local = "@" + screen_name.split("@", 1)[0]
        found.append(_Entity(match.start(1) - 1, match.end(1), local))
    return found


# --- Mastodon's mention pattern (Account::MENTION_RE) and twitter-text's end_mention_match.

_WORD_CHARS = r"\p{L}\p{M}\p{Nd}\p{Pc}"  # Ruby's [[:word:]]
_WORD = f"[{_WORD_CHARS}]"
_LATIN_ACCENTS = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    r"\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_MENTION = regex.compile(
    rf"(?<![=/{_WORD_CHARS}])@((?i:[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@{_WORD}+(?:[.-]+{_WORD}+)*)?)"
)
_END_MENTION = regex.compile(rf"(?:[@＠]|[{_LATIN_ACCENTS}]+|://)", regex.IGNORECASE)
_TCO = regex.compile(r"https?://t\.co/([a-z0-9]+)", regex.IGNORECASE)


# --- twitter-text's valid_url with Mastodon's overrides (config/initializers/twitter_regex.rb).

_DIRECTIONAL = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVALID = r"\ufffe\ufeff\uffff"
_UNICODE_SPACES = r"\t-\r\x20\u0085\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# twitter-text's PUNCTUATION_CHARS: ASCII punctuation except the backslash.
_PUNCTUATION = regex.escape("!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~", special_only=False)
_CONTROL = r"\x00-\x1f\x7f"
_UCHARS = (
    r"\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    r"\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    r"\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    r"\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)


def _balanced_parens(chars: str) -> str:
    # One nested level, as in Wikipedia links like /Primer_(film).
    return rf"\((?:{chars}+|(?:{chars}*\({chars}+\){chars}*))\)"


@functools.cache
def _url_pattern() -> regex.Pattern[str]:
    """twitter-text's valid_url; built on first use, as the TLD tree is large."""
    preceding = rf"(?:[^A-Z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
    protocol = r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    query = rf"(?:\?[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]*[a-z0-9_&=#/\-{_UCHARS}])"
    url = (
        rf"(?P<url>(?P<protocol>{protocol})?(?P<domain>{_domain_pattern()})"
        rf"(?::[0-9]+)?(?:/{_path_pattern()}*)?{query}?)"
    )
    return regex.compile(preceding + url, regex.IGNORECASE | regex.MULTILINE)


def _domain_pattern() -> str:
    char = f"[^{_DIRECTIONAL}{_PUNCTUATION}{_CONTROL}{_INVALID}{_UNICODE_SPACES}]"
    subdomain = rf"(?:(?:{char}(?:[_-]|{char})*)?{char}\.)"
    domain_name = rf"(?:(?:{char}(?:-|{char})*)?{char}\.)"
    tld_end = r"(?=[^0-9a-z@+-]|$)"
    gtld = rf"(?:(?:{_alternation(_GENERIC_TLDS)}){tld_end})"
    cctld = rf"(?:(?:{_alternation(_COUNTRY_TLDS)}){tld_end})"
    return rf"(?:{subdomain}*{domain_name}(?:{gtld}|{cctld}|xn--[0-9a-z]+))"


def _path_pattern() -> str:
    char = r"[^\p{White_Space}<>()?]"
    # Mastodon redefines the path characters after the ending characters were built, so
    # the parentheses allowed at the end of a path still use twitter-text's original set.
    original_char = rf"[a-z\p{{Cyrillic}}0-9!*';:=+,.$/%#\[\]\p{{Pd}}_~&|@{_LATIN_ACCENTS}]"
    ending = (
        r"""(?:[^\p{White_Space}()?!*"'「」<>;:=,.$%\[\]~&|@]|"""
        rf"{_balanced_parens(original_char)})"
    )
    parens = _balanced_parens(char)
    return rf"(?:(?:{char}*(?:{parens}{char}*)*{ending})|(?:{char}+/))"


def _alternation(words: str) -> str:
    """The words as a prefix tree: one step per character instead of one try per TLD.

    The domain pattern tries the TLDs after every label, so a plain alternation of ~1,600
    words made long dotted words slow. The tree tries longer words first (greedy `?`), which
    is what twitter-text's list order achieves: "嘉里大酒店" before "嘉里".
    """
    trie: _Trie = {}
    for word in words.split():
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _trie_pattern(trie)


def _trie_pattern(node: _Trie) -> str:
    branches = [regex.escape(char) + _trie_pattern(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


# twitter-text's tld_lib.yml, the list Mastodon's twitter-text 3.1 gem matches hosts against:
# a URL whose host ends in anything else is plain text to Mastodon and counts in full.
_COUNTRY_TLDS = """
한국 香港 澳門 新加坡 台灣 台湾 中國 中国 გე ລາວ ไทย ලංකා ഭാരതം ಭಾರತ భారత్ சிங்கப்பூர் இலங்கை இந்தியா ଭାରତ
ભારત ਭਾਰਤ ভাৰত ভারত বাংলা भारोत भारतम् भारत ڀارت پاکستان موريتانيا مليسيا مصر قطر فلسطين عمان عراق
سورية سودان تونس بھارت بارت ایران امارات المغرب السعودية الجزائر البحرين الاردن հայ қаз укр срб
рф мон мкд ею бел бг ευ ελ zw zm za yt ye ws wf vu vn vi vg ve vc va uz uy us um uk ug ua tz tw
tv tt tr tp to tn tm tl tk tj th tg tf td tc sz sy sx sv su st ss sr so sn sm sl sk sj si sh sg
se sd sc sb sa rw ru rs ro re qa py pw pt ps pr pn pm pl pk ph pg pf pe pa om nz nu nr np no nl
ni ng nf ne nc na mz my mx mw mv mu mt ms mr mq mp mo mn mm ml mk mh mg mf me md mc ma ly lv lu
lt ls lr lk li lc lb la kz ky kw kr kp kn km ki kh kg ke jp jo jm je it is ir iq io in im il ie
id hu ht hr hn hm hk gy gw gu gt gs gr gq gp gn gm gl gi gh gg gf ge gd gb ga fr fo fm fk fj fi
eu et es er eh eg ee ec dz do dm dk dj de cz cy cx cw cv cu cr co cn cm cl ck ci ch cg cf cd cc
ca bz by bw bv bt bs br bq bo bn bm bl bj bi bh bg bf be bd bb ba az ax aw au at as ar aq ao an
am al ai ag af ae ad ac
"""
_GENERIC_TLDS = """
삼성 닷컴 닷넷 香格里拉 餐厅 食品 飞利浦 電訊盈科 集团 通販 购物 谷歌 诺基亚 联通 网络 网站 网店
网址 组织机构 移动 珠宝 点看 游戏 淡马锡 机构 書籍 时尚 新闻 政府 政务 招聘 手表 手机 我爱你
慈善 微博 广东 工行 家電 娱乐 天主教 大拿 大众汽车 在线 嘉里大酒店 嘉里 商标 商店 商城 公益 公司
八卦 健康 信息 佛山 企业 中文网 中信 世界 ポイント ファッション セール ストア コム グーグル
クラウド みんな คอม संगठन नेट कॉम همراه موقع موبايلي كوم كاثوليك عرب شبكة بيتك بازار العليان
ارامكو اتصالات ابوظبي קום сайт рус орг онлайн москва ком католик дети zuerich zone zippo zip
zero zara zappos yun youtube you yokohama yoga yodobashi yandex yamaxun yahoo yachts xyz xxx
xperia xin xihuan xfinity xerox xbox wtf wtc wow world works work woodside wolterskluwer wme
winners wine windows win williamhill wiki wien whoswho weir weibo wedding wed website weber
webcam weatherchannel weather watches watch warman wanggou wang walter walmart wales vuelos
voyage voto voting vote volvo volkswagen vodka vlaanderen vivo viva vistaprint vista vision visa
virgin vip vin villas viking vig video viajes vet versicherung vermögensberatung
vermögensberater verisign ventures vegas vanguard vana vacations ups uol uno university unicom
uconnect ubs ubank tvs tushu tunes tui tube trv trust travelersinsurance travelers travelchannel
travel training trading trade toys toyota town tours total toshiba toray top tools tokyo today
tmall tkmaxx tjx tjmaxx tirol tires tips tiffany tienda tickets tiaa theatre theater thd teva
tennis temasek telefonica telecity tel technology tech team tdk tci taxi tax tattoo tatar
tatamotors target taobao talk taipei tab systems symantec sydney swiss swiftcover swatch suzuki
surgery surf support supply supplies sucks style study studio stream store storage stockholm
stcgroup stc statoil statefarm statebank starhub star staples stada srt srl spreadbetting spot
sport spiegel space soy sony song solutions solar sohu software softbank social soccer sncf
smile smart sling skype sky skin ski site singles sina silk shriram showtime show shouji
shopping shop shoes shiksha shia shell shaw sharp shangrila sfr sexy sex sew seven ses services
sener select seek security secure seat search scot scor scjohnson science schwarz schule school
scholarships schmidt schaeffler scb sca sbs sbi saxo save sas sarl sapo sap sanofi
sandvikcoromant sandvik samsung samsclub salon sale sakura safety safe saarland ryukyu rwe run
ruhr rugby rsvp room rogers rodeo rocks rocher rmit rip rio ril rightathome ricoh richardli rich
rexroth reviews review restaurant rest republican report repair rentals rent ren reliance reit
reisen reise rehab redumbrella redstone red recipes realty realtor realestate read raid radio
racing qvc quest quebec qpon pwc pub prudential pru protection property properties promo
progressive prof productions prod pro prime press praxi pramerica post porn politie poker pohl
pnc plus plumbing playstation play place pizza pioneer pink ping pin pid pictures pictet pics
piaget physio photos photography photo phone philips phd pharmacy pfizer pet pccw pay passagens
party parts partners pars paris panerai panasonic pamperedchef page ovh ott otsuka osaka origins
orientexpress organic org orange oracle open ooo onyourside online onl ong one omega ollo
oldnavy olayangroup olayan okinawa office off observer obi nyc ntt nrw nra nowtv nowruz now
norton northwesternmutual nokia nissay nissan ninja nikon nike nico nhk ngo nfl nexus nextdirect
next news newholland new neustar network netflix netbank net nec nba navy natura nationwide name
nagoya nadex nab mutuelle mutual museum mtr mtpc mtn msd movistar movie mov motorcycles moto
moscow mortgage mormon mopar montblanc monster money monash mom moi moe moda mobily mobile mobi
mma mls mlb mitsubishi mit mint mini mil microsoft miami metlife merckmsd meo menu men memorial
meme melbourne meet media med mckinsey mcdonalds mcd mba mattel maserati marshalls marriott
markets marketing market map mango management man makeup maison maif madrid macys luxury luxe
lupin lundbeck ltda ltd lplfinancial lpl love lotto lotte london lol loft locus locker loans
loan llp llc lixil living live lipsy link linde lincoln limo limited lilly like lighting
lifestyle lifeinsurance life lidl liaison lgbt lexus lego legal lefrak leclerc lease lds lawyer
law latrobe latino lat lasalle lanxess landrover land lancome lancia lancaster lamer lamborghini
ladbrokes lacaixa kyoto kuokgroup kred krd kpn kpmg kosher komatsu koeln kiwi kitchen kindle
kinder kim kia kfh kerryproperties kerrylogistics kerryhotels kddi kaufen juniper juegos jprs
jpmorgan joy jot joburg jobs jnj jmp jll jlc jio jewelry jetzt jeep jcp jcb java jaguar iwc
iveco itv itau istanbul ist ismaili iselect irish ipiranga investments intuit international
intel int insure insurance institute ink ing info infiniti industries inc immobilien immo imdb
imamat ikano iinet ifm ieee icu ice icbc ibm hyundai hyatt hughes htc hsbc how house hotmail
hotels hoteles hot hosting host hospital horse honeywell honda homesense homes homegoods
homedepot holiday holdings hockey hkt hiv hitachi hisamitsu hiphop hgtv hermes here helsinki
help healthcare health hdfcbank hdfc hbo haus hangout hamburg hair guru guitars guide guge gucci
guardian group grocery gripe green gratis graphics grainger gov got gop google goog goodyear
goodhands goo golf goldpoint gold godaddy gmx gmo gmbh gmail globo global gle glass glade giving
gives gifts gift ggee george genting gent gea gdn gbiz gay garden gap games game gallup gallo
gallery gal fyi futbol furniture fund fun fujixerox fujitsu ftr frontier frontdoor frogans frl
fresenius free fox foundation forum forsale forex ford football foodnetwork food foo fly
flsmidth flowers florist flir flights flickr fitness fit fishing fish firmdale firestone fire
financial finance final film fido fidelity fiat ferrero ferrari feedback fedex fast fashion
farmers farm fans fan family faith fairwinds fail fage extraspace express exposed expert
exchange everbank events eus eurovision etisalat esurance estate esq erni ericsson equipment
epson epost enterprises engineering engineer energy emerck email education edu edeka eco eat
earth dvr dvag durban dupont duns dunlop duck dubai dtv drive download dot doosan domains doha
dog dodge doctor docs dnp diy dish discover discount directory direct digital diet diamonds dhl
dev design desi dentist dental democrat delta deloitte dell delivery degree deals dealer deal
dds dclk day datsun dating date data dance dad dabur cyou cymru cuisinella csc cruises cruise
crs crown cricket creditunion creditcard credit cpa courses coupons coupon country corsica coop
cool cookingchannel cooking contractors contact consulting construction condos comsec computer
compare company community commbank comcast com cologne college coffee codes coach clubmed club
cloud clothing clinique clinic click cleaning claims cityeats city citic citi citadel cisco
circle cipriani church chrysler chrome christmas chloe chintai cheap chat chase charity channel
chanel cfd cfa cern ceo center ceb cbs cbre cbn cba catholic catering cat casino cash caseih
case casa cartier cars careers career care cards caravan car capitalone capital capetown canon
cancerresearch camp camera cam calvinklein call cal cafe cab bzh buzz buy business builders
build bugatti budapest brussels brother broker broadway bridgestone bradesco box boutique bot
boston bostik bosch boots booking book boo bond bom bofa boehringer boats bnpparibas bnl bmw bms
blue bloomberg blog blockbuster blanco blackfriday black biz bio bingo bing bike bid bible
bharti bet bestbuy best berlin bentley beer beauty beats bcn bcg bbva bbt bbc bayern bauhaus
basketball baseball bargains barefoot barclays barclaycard barcelona bar bank band
bananarepublic banamex baidu baby azure axa aws avianca autos auto author auspost audio audible
audi auction attorney athleta associates asia asda arte art arpa army archi aramco arab
aquarelle apple app apartments aol anz anquan android analytics amsterdam amica amfam amex
americanfamily americanexpress alstom alsace ally allstate allfinanz alipay alibaba alfaromeo
akdn airtel airforce airbus aigo aig agency agakhan africa afl afamilycompany aetna aero aeg
adult ads adac actor active aco accountants accountant accenture academy abudhabi abogado able
abc abbvie abbott abb abarth aarp aaa onion
"""
