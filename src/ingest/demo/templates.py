"""Chrome shared by the outlet templates: share bars, comment forms, banners, scripts, JSON-LD.

Every visible chrome string lives here or in outlets.py and is listed in CHROME_PHRASES, so the
ground truth can assert that none of them ever reaches a stored article text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

CHROME_PHRASES: tuple[str, ...] = (
    "اترك تعليقاً",
    "لن يتم نشر عنوان بريدك الإلكتروني",
    "الحقول الإلزامية مشار إليها بـ *",
    "عدد الأحرف المتبقية",
    "شارك المقال",
    "تم النسخ",
    "تعليقات (",
    "أخبار ذات صلة",
    "Exit mobile version",
    "جرب ميزات الذكاء الاصطناعي لدينا",
    "إستمع للمقال",
    "الخط : A- A+",
    "[gallery",
    "IMG_2025",
    "اشترك في النشرة البريدية",
    "نستخدم ملفات تعريف الارتباط",
    "جميع الحقوق محفوظة",
    "الأكثر قراءة",
    "تابعونا على",
    "نسخ الرابط",
    "أضف تعليقك",
    "المقال السابق",
    "المقال التالي",
    "نسخة للطباعة",
    "ملخص المقال بالذكاء الاصطناعي",
    "Laisser un commentaire",
    "Partager cet article",
    "Tous droits réservés",
    "Nous utilisons des cookies",
    "Newsletter",
    "googletagmanager",
    "dataLayer",
    # An untranslated English theme around Arabic articles (souss24), as real Arabic sites run them.
    "Breaking News",
    "About the author",
    "Share this",
    "Related Posts",
    "Leave a Reply",
    "Your email address will not be published",
    "Save my name, email, and website",
    "We use cookies",
    "Subscribe to our newsletter",
    "Powered by WordPress",
    # A standings table in the sidebar (almasaa).
    "جدول الترتيب",
)


def e(text: str) -> str:
    return escape(text, quote=True)


def paragraphs(paras: Iterable[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return "\n".join(f"<p{attr}>{e(p)}</p>" for p in paras)


def head(
    title: str,
    *,
    lang: str = "ar",
    canonical: str | None = None,
    metas: Sequence[tuple[str, str, str]] = (),
    jsonld: Any = None,
    feeds: Sequence[tuple[str, str]] = (),
    extra: str = "",
    charset: str = "utf-8",
) -> str:
    """<head>: charset, title, canonical, meta (attr, key, value), JSON-LD, feed discovery links."""
    out = [
        f'<meta charset="{charset}">'
        if charset == "utf-8"
        else f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    ]
    out.append('<meta name="viewport" content="width=device-width, initial-scale=1">')
    out.append(f"<title>{e(title)}</title>")
    if canonical:
        out.append(f'<link rel="canonical" href="{e(canonical)}">')
    out += [f'<meta {attr}="{e(k)}" content="{e(v)}">' for attr, k, v in metas]
    out += [f'<link rel="alternate" type="{t}" href="{e(u)}">' for t, u in feeds]
    if jsonld is not None:
        out.append(f'<script type="application/ld+json">{json.dumps(jsonld, ensure_ascii=False)}</script>')
    out.append(extra)
    direction = "rtl" if lang == "ar" else "ltr"
    return f'<!DOCTYPE html>\n<html lang="{lang}" dir="{direction}">\n<head>\n' + "\n".join(out) + "\n</head>\n"


def analytics(site_id: str) -> str:
    return (
        f'<script async src="https://www.googletagmanager.com/gtag/js?id={site_id}"></script>\n'
        "<script>window.dataLayer = window.dataLayer || [];function gtag(){dataLayer.push(arguments);}"
        f"gtag('js', new Date());gtag('config', '{site_id}');</script>"
    )


def page_data(data: dict[str, Any]) -> str:
    """Inline JSON state, as single-page themes embed it."""
    return f"<script>window.__PAGE_DATA__ = {json.dumps(data, ensure_ascii=False)};</script>"


def share_bar(url: str, title: str, style: str = "ar") -> str:
    u, t = quote(url, safe=""), quote(title, safe="")
    label = {"fr": "Partager cet article", "en": "Share this:"}.get(style, "شارك المقال")
    copied = {"fr": "Lien copié", "en": "Copied!"}.get(style, "تم النسخ")
    return (
        f'<div class="share-box"><span class="share-title">{label}</span><ul class="share-links">'
        f'<li><a class="facebook" href="https://www.facebook.com/sharer.php?u={u}">facebook</a></li>'
        f'<li><a class="twitter" href="https://twitter.com/intent/tweet?text={t}&amp;url={u}">twitter</a></li>'
        f'<li><a class="whatsapp" href="https://api.whatsapp.com/send?text={t}%20{u}">whatsapp</a></li>'
        f'<li><button class="copy-link" data-done="{copied}">{"Copy link" if style == "en" else "نسخ الرابط"}</button>'
        f'<span class="copied">{copied}</span></li>'
        "</ul></div>"
    )


def comment_form_wp(post_id: int) -> str:
    return (
        '<div id="respond" class="comment-respond"><h3 id="reply-title">اترك تعليقاً</h3>'
        '<form action="/wp-comments-post.php" method="post" id="commentform">'
        '<p class="comment-notes">لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *</p>'
        '<p><label for="comment">التعليق *</label><textarea id="comment" name="comment" maxlength="1000">'
        "</textarea></p>"
        '<p><label for="author">الاسم *</label><input id="author" name="author"></p>'
        '<p><label for="email">البريد الإلكتروني *</label><input id="email" name="email"></p>'
        f'<input type="hidden" name="comment_post_ID" value="{post_id}">'
        '<p class="form-submit"><input type="submit" value="إرسال التعليق"></p></form></div>'
    )


def comment_form_en(post_id: int) -> str:
    """WordPress's own comment form, left in English by a theme nobody translated."""
    return (
        '<div id="respond" class="comment-respond"><h3 id="reply-title">Leave a Reply</h3>'
        '<form action="/wp-comments-post.php" method="post" id="commentform">'
        '<p class="comment-notes">Your email address will not be published. Required fields are marked *</p>'
        '<p><label for="comment">Comment *</label><textarea id="comment" name="comment"></textarea></p>'
        '<p><label for="author">Name *</label><input id="author" name="author"></p>'
        '<p><label for="email">Email *</label><input id="email" name="email"></p>'
        '<p class="comment-form-cookies-consent"><input type="checkbox" id="consent"><label for="consent">'
        "Save my name, email, and website in this browser for the next time I comment.</label></p>"
        f'<input type="hidden" name="comment_post_ID" value="{post_id}">'
        '<p class="form-submit"><input type="submit" value="Post Comment"></p></form></div>'
    )


def comment_box_counter(count: int = 0) -> str:
    return (
        f'<div class="comments"><h4 class="comments-count">تعليقات ( {count} )</h4>'
        '<h4>اترك تعليقاً</h4><form class="comment-form"><textarea maxlength="1000"></textarea>'
        '<div class="char-count">1000 / 1000 (عدد الأحرف المتبقية)</div>'
        '<input name="name" placeholder="الاسم"><button>أضف تعليقك</button></form></div>'
    )


def comment_form_fr() -> str:
    return (
        '<section class="comments"><h3>Laisser un commentaire</h3><form method="post" action="/comment">'
        '<textarea name="c"></textarea><input name="email" placeholder="E-mail"><button>Envoyer</button>'
        "</form></section>"
    )


def cookie_banner(lang: str = "ar") -> str:
    if lang == "fr":
        text = "Nous utilisons des cookies pour améliorer votre expérience. <button>Accepter</button>"
    elif lang == "en":
        text = (
            "We use cookies to ensure that we give you the best experience on our website. If you continue to "
            "use this site we will assume that you are happy with it. <button>Ok</button>"
        )
    else:
        text = "نستخدم ملفات تعريف الارتباط لتحسين تجربتك على موقعنا. <button>موافق</button>"
    return f'<div id="cookie-notice" class="cookie-banner" role="dialog">{text}</div>'


def newsletter(lang: str = "ar") -> str:
    if lang == "en":
        return (
            '<div class="widget newsletter"><h4>Subscribe to our newsletter</h4><p>Get the latest news from '
            "Souss, Agadir and the south of Morocco delivered to your inbox every morning, free of charge.</p>"
            '<form><input type="email" placeholder="Your email address"><button>Subscribe</button></form></div>'
        )
    if lang == "fr":
        return (
            "<aside class=\"newsletter\"><h4>Newsletter</h4><p>Recevez l'essentiel de l'actualité chaque "
            'matin.</p><form><input type="email"><button>S\'inscrire</button></form></aside>'
        )
    return (
        '<aside class="newsletter"><h4>اشترك في النشرة البريدية</h4><p>توصل بأهم الأخبار كل صباح في '
        'بريدك.</p><form><input type="email" placeholder="بريدك الإلكتروني"><button>اشترك</button></form></aside>'
    )


def follow_us(networks: Sequence[str] = ("facebook", "twitter", "youtube", "instagram")) -> str:
    links = "".join(f'<a href="https://www.{n}.com/" class="{n}">{n}</a>' for n in networks)
    return f'<div class="follow"><span>تابعونا على</span>{links}</div>'


def related_block(items: Sequence[tuple[str, str, str]], heading: str = "أخبار ذات صلة") -> str:
    """items: (url, title, one-line text: an excerpt or a relative time; none when empty)."""
    lis = "".join(
        f'<li><a href="{e(u)}">{e(t)}</a>' + (f'<p class="excerpt">{e(x)}</p>' if x else "") + "</li>"
        for u, t, x in items
    )
    return f'<section class="related-posts"><h3>{heading}</h3><ul>{lis}</ul></section>'


def inline_links(items: Sequence[tuple[str, str]]) -> str:
    """Other articles' headlines as link paragraphs inside the article body, with no heading: a page
    of a real template whose extraction kept such a block was rejected as 50-53% link text."""
    return "".join(f'<p class="inline-related"><a href="{e(u)}">{e(t)}</a></p>' for u, t in items)


# (team, played, points): the league table a sports widget shows beside every article.
STANDINGS = (
    ("نهضة بركان", 29, 67), ("الجيش الملكي", 29, 56), ("الوداد الرياضي", 29, 51), ("الرجاء الرياضي", 29, 49),
    ("المغرب الفاسي", 29, 44), ("الفتح الرياضي", 29, 41), ("اتحاد تواركة", 29, 39), ("حسنية أكادير", 29, 37),
)  # fmt: skip


def standings_widget() -> str:
    """A sidebar table of standings, in a plain <div> as many themes have it: on a real template
    trafilatura took such a table for a brief's text, the outlet's recurring lines then emptied it."""
    rows = "".join(
        f"<tr><td>{i}</td><td>{e(team)}</td><td>{played}</td><td>{points}</td></tr>"
        for i, (team, played, points) in enumerate(STANDINGS, 1)
    )
    return (
        '<div class="widget widget-standings"><h3 class="widget-title">جدول الترتيب</h3><table class="standings">'
        f"<thead><tr><th>#</th><th>الفريق</th><th>لعب</th><th>النقاط</th></tr></thead><tbody>{rows}</tbody>"
        "</table></div>"
    )


def most_read(items: Sequence[tuple[str, str]]) -> str:
    lis = "".join(f'<li><a href="{e(u)}">{e(t)}</a></li>' for u, t in items)
    return f'<aside class="widget most-read"><h3>الأكثر قراءة</h3><ol>{lis}</ol></aside>'


def nav(items: Sequence[tuple[str, str]], cls: str = "main-menu") -> str:
    lis = "".join(f'<li><a href="{e(u)}">{e(t)}</a></li>' for u, t in items)
    return f'<nav class="{cls}"><ul>{lis}</ul></nav>'
