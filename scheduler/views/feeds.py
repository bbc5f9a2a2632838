"""Blueprint "feeds": the .ics endpoints that calendar programs poll, and the subscribe page."""

import gzip
import re
import threading
from collections.abc import Callable
from datetime import timedelta

from cachetools import LRUCache
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from markupsafe import Markup
from werkzeug.http import is_resource_modified

from scheduler import dates, labels
from scheduler.extensions import db
from scheduler.forms.fields import KIND_SLUG, KIND_SLUGS
from scheduler.forms.public import EmbedForm, SubscribeForm
from scheduler.htmx import page_or_partial, with_pushed_url
from scheduler.links import activity_url, public_url
from scheduler.models import Event, Series, Theme, utcnow
from scheduler.response_cache import answer_conditionally, share_until
from scheduler.services import agenda as agenda_service
from scheduler.services import calendar, feeds

bp = Blueprint("feeds", __name__)
# What a web developer pastes into their page; format() escapes the address and the title.
EMBED_SNIPPET = Markup('<iframe src="{}" title="{}" width="100%" height="600" style="border:0" '
                       'loading="lazy"></iframe>')
THEME_SLUG = re.compile(r"[a-z0-9-]{1,80}")
# The latest built bodies by ETag, so a feed is built once per change per process.
_bodies: LRUCache[str, bytes] = LRUCache(maxsize=64)
_bodies_lock = threading.Lock()


def _event_url(event: Event) -> str:
    return activity_url(event.slug)


def _since():
    return feeds.history_start(utcnow(), current_app.config["FEED_HISTORY_MONTHS"])


def _serve(
    version: feeds.Version,
    build: Callable[[], bytes],
    *,
    filename: str | None = None,
    private: bool = False,
) -> Response:
    """Answer 304 without building when the client is up to date; otherwise the (gzipped) feed."""
    compressed = request.accept_encodings["gzip"] > 0
    etag = version.etag + ("-gz" if compressed else "")
    if is_resource_modified(request.environ, etag=etag, last_modified=version.last_modified):
        with _bodies_lock:
            body = _bodies.get(etag)
        if body is None:
            body = gzip.compress(build(), 6, mtime=0) if compressed else build()
            with _bodies_lock:
                _bodies[etag] = body
        response = Response(body, mimetype="text/calendar")
        if compressed:
            response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(status=304)
    response.set_etag(etag)
    response.last_modified = version.last_modified
    response.vary.add("Accept-Encoding")
    response.cache_control.max_age = current_app.config["FEED_CACHE_SECONDS"]
    if private:
        response.cache_control.private = True
        response.headers["Referrer-Policy"] = "no-referrer"
    else:
        response.cache_control.public = True
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A feed changes with the data, and with the clock only when its history window moves.
    share_until(request.environ, dates.next_month_start(utcnow()))
    return response


def _public_feed(selection: feeds.Selection, key: str, name: str) -> Response:
    since = _since()
    version = feeds.feed_version(selection, key, since)

    def build() -> bytes:
        fresh: list[tuple[int, str, str]] = []
        body = calendar.build_public_calendar(
            feeds.feed_stamps(selection, since),
            feeds.load_events,
            name=name,
            slug_url=activity_url,
            refresh=timedelta(minutes=current_app.config["FEED_REFRESH_MINUTES"]),
            on_serialised=lambda event_id, digest, text: fresh.append(
                (event_id, digest, text.decode())
            ),
        )
        feeds.store_serialised(fresh)
        return body

    return _serve(version, build)


def _calendar_name(*parts: str) -> str:
    return " – ".join((current_app.config["PROGRAMME_NAME"], *parts))


@bp.get("/agenda.ics")
def agenda():
    """All public activities, optionally narrowed with ?soort=…&thema=… (repeatable)."""
    kinds = sorted(set(request.args.getlist("soort")))
    themes = sorted(set(request.args.getlist("thema")))
    if len(themes) > 20 or any(kind not in KIND_SLUGS for kind in kinds):
        abort(404)
    if not all(THEME_SLUG.fullmatch(slug) for slug in themes):
        abort(404)
    selection = feeds.Selection(
        kinds=tuple(KIND_SLUGS[kind] for kind in kinds), theme_slugs=tuple(themes)
    )
    name = _calendar_name(*(labels.KIND_PLURAL[KIND_SLUGS[kind]] for kind in kinds))
    return _public_feed(selection, f"agenda:{','.join(kinds)}|{','.join(themes)}", name)


@bp.get("/agenda/<slug:kind>.ics")
def kind(kind: str):
    """The activities of one kind: vorming, werkbezoek or intervisie."""
    if kind not in KIND_SLUGS:
        abort(404)
    event_kind = KIND_SLUGS[kind]
    selection = feeds.Selection(kinds=(event_kind,))
    return _public_feed(selection, f"kind:{kind}", _calendar_name(labels.KIND_PLURAL[event_kind]))


@bp.get("/thema/<slug:slug>.ics")
def theme(slug: str):
    """The activities about one theme."""
    found = db.first_or_404(db.select(Theme).where(Theme.slug == slug))
    selection = feeds.Selection(theme_slugs=(found.slug,))
    return _public_feed(selection, f"theme:{slug}:{found.name}", _calendar_name(found.name))


@bp.get("/reeks/<slug:slug>.ics")
def series(slug: str):
    """The sessions of one series."""
    found = db.first_or_404(db.select(Series).where(Series.slug == slug))
    selection = feeds.Selection(series_id=found.id)
    return _public_feed(selection, f"series:{found.id}:{found.title}", _calendar_name(found.title))


@bp.get("/activiteiten/<slug:slug>.ics")
def event(slug: str):
    """One activity as a file to open in any calendar program."""
    found = agenda_service.get_public_event(slug)
    if found is None:
        abort(404)

    def build() -> bytes:
        return calendar.build_calendar(
            [calendar.Entry(found)], name=found.title, event_url=_event_url
        )

    return _serve(feeds.event_version(found), build, filename=f"{found.slug}.ics")


@bp.get("/mijn/<token:token>.ics")
def personal(token: str):
    """One person's registrations, with their status, behind an unguessable token."""
    person = feeds.find_person_by_feed_token(token)
    if person is None:
        abort(404)

    def build() -> bytes:
        return calendar.build_calendar(
            feeds.personal_entries(person),
            name=_calendar_name("mijn inschrijvingen"),
            event_url=_event_url,
            refresh=timedelta(minutes=current_app.config["FEED_REFRESH_MINUTES"]),
        )

    return _serve(feeds.personal_version(person), build, private=True)


def _subscribe_page(partial_template: str, push_url: bool) -> Response:
    """The subscribe page, or one of its parts for htmx: the feed links or the embed snippet."""
    known_themes = agenda_service.list_themes()
    form = SubscribeForm(request.args, themes=known_themes)
    form.validate()
    kinds = [kind for kind in form.soort.data or [] if kind in KIND_SLUGS]
    slugs = {theme.slug for theme in known_themes}
    themes = [slug for slug in form.thema.data or [] if slug in slugs]
    embed_form = EmbedForm(request.args, themes=known_themes)
    embed_form.validate()
    embed_choice = {name: embed_form[name].data for name in ("soort", "thema")
                    if embed_form[name].data and not embed_form[name].errors}
    feed_url = public_url("feeds.agenda", soort=kinds, thema=themes)
    embed_url = public_url("events.embed", **embed_choice)
    response = page_or_partial(
        "feeds/subscribe.html",
        partial_template,
        form=form,
        feed_url=feed_url,
        webcal_url="webcal://" + feed_url.split("://", 1)[1],
        google_url="https://calendar.google.com/calendar/r?cid=" + feed_url,
        embed_form=embed_form,
        # The HTML as text: shown escaped in the field, copied as it is.
        snippet=str(EMBED_SNIPPET.format(
            embed_url, "Agenda: " + current_app.config["PROGRAMME_NAME"])),
        embed_url=embed_url,
        preview_url=url_for("events.embed", **embed_choice),
    )
    if not push_url:
        return response
    return with_pushed_url(response, url_for("feeds.subscribe", soort=kinds, thema=themes))


@bp.get("/abonneren")
def subscribe():
    """How to subscribe to the agenda in Outlook, Google Calendar or Apple Calendar, and how to
    show it on another website."""
    return _subscribe_page("feeds/_links.html", push_url=True)


@bp.get("/abonneren/insluiten")
def embed_snippet():
    """The snippet and preview of the embedded agenda for the kind and theme chosen."""
    # The feed choices stay in the address bar; the snippet is copied, not bookmarked.
    return _subscribe_page("feeds/_embed_code.html", push_url=False)


@bp.get("/nieuw.atom")
def newly_published():
    """The activities most recently published, for newsletter tools and feed readers."""
    now = utcnow()
    events = agenda_service.list_newly_published(current_app.config["NEW_FEED_SIZE"], now)
    updated = agenda_service.last_publication_change() or feeds.EPOCH
    body = render_template("feeds/new.atom.xml", events=events, updated=updated,
                           feed_url=public_url("feeds.newly_published"),
                           agenda_url=public_url("events.index"), kind_slugs=KIND_SLUG)
    response = Response(body, mimetype="application/atom+xml")
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["FEED_CACHE_SECONDS"]
    # No Last-Modified: an activity that ends leaves the feed without any row changing.
    answer_conditionally(response)
    share_until(request.environ, min((event.ends_at for event in events),
                                     default=now + timedelta(days=1)))
    return response
