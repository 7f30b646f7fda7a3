"""The exports ``ae-import init`` recognises by their headers, and what it maps from each.

Pure data. Headers are compared as ``init_values.words`` writes them (``metaData.id``
is ``meta data id``, ``hs_call_title`` is ``hs call title``). An export is recognised
when every header of one of its signatures is present; the most specific match wins.
``prefer`` names, per API field (and per participant role and attribute), the headers
to try first; each must still pass the value checks (a unique id, timestamps that all
parse, media URLs) before it is used. The column names are those of each vendor's
documented export or API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .values import words

__all__ = ["EXPORTS", "Export", "recognise"]


@dataclass(frozen=True)
class Export:
    """A known export: how to recognise it and what to prefer in it."""

    source_system: str
    label: str
    signatures: tuple[frozenset[str], ...]
    prefer: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    type_default: str | None = None
    note: str = ""  # a line about what the export lacks, written into the mapping

    @property
    def prefix(self) -> str:
        """Return the external_id prefix that keeps this source's ids apart."""
        return f"{self.source_system}:"


def _sig(*headers: str) -> frozenset[str]:
    return frozenset(headers)


EXPORTS: tuple[Export, ...] = (
    Export(
        "gong",
        "a Gong calls export (API v2 /calls/extensive: metaData, parties, media)",
        (_sig("meta data id", "meta data started"), _sig("meta data id", "parties")),
        {
            "external_id": ("meta data id",),
            "title": ("meta data title",),
            "start_at": ("meta data started", "meta data scheduled"),
            "type": ("meta data direction", "meta data media"),
            "media_url": ("media audio url", "media video url"),
            "is_private": ("meta data is private",),
            "items": ("parties",),
        },
        type_default="CALL",
        note="Gong names the call's owner in metaData.primaryUserId (parties[].userId): "
        "no mapping form flags it, so no participant is sent as owner",
    ),
    Export(
        "zoom",
        "a Zoom cloud recordings export",
        (
            _sig("topic", "host email", "start time"),
            _sig("topic", "host id", "start time", "recording files"),
        ),
        {
            "external_id": ("uuid", "id", "meeting id"),
            "title": ("topic",),
            "start_at": ("start time", "recording start"),
            "media_url": ("download url", "recording files download url"),
            "owner.name": ("host name", "host"),
            "owner.email": ("host email",),
        },
        type_default="MEETING",
    ),
    Export(
        "hubspot",
        "a HubSpot calls export",
        (
            _sig("record id", "call title"),
            _sig("hs object id", "hs call title"),
            _sig("hs call recording url"),
            _sig("call title", "call direction", "recording url"),
        ),
        {
            "external_id": ("record id", "hs object id"),
            "title": ("call title", "hs call title"),
            "start_at": ("activity date", "hs timestamp", "create date", "hs createdate"),
            "media_url": ("recording url", "hs call recording url"),
            "type": ("call direction", "hs call direction"),
            "owner.name": ("activity assigned to", "call owner"),
        },
        type_default="CALL",
    ),
    Export(
        "chorus",
        "a Chorus engagements export",
        (
            _sig("engagement id", "subject", "date time"),
            _sig("engagement id", "engagement type"),
        ),
        {
            "external_id": ("engagement id",),
            "title": ("subject",),
            "start_at": ("date time",),
            "type": ("engagement type",),
            "owner.name": ("user name",),
            "owner.email": ("user email",),
            "items": ("participants",),
        },
        type_default="MEETING",
        note="Chorus's engagement export holds no recording URL (its url is the Chorus page): "
        "export the recordings and put their URLs in a column",
    ),
    Export(
        "aircall",
        "an Aircall calls export",
        (
            _sig("direct link", "raw digits", "started at"),
            _sig("id", "direct link", "direction", "started at"),
        ),
        {
            "external_id": ("id",),
            "start_at": ("started at",),
            "type": ("direction",),
            "media_url": ("recording", "asset"),
            "owner.name": ("user name",),
            "owner.email": ("user email",),
            "contact.phone": ("raw digits",),
        },
        type_default="CALL",
    ),
    Export(
        "dialpad",
        "a Dialpad calls export",
        (
            _sig("call id", "date started", "external number"),
            _sig("call id", "date started", "direction", "internal number"),
        ),
        {
            "external_id": ("call id",),
            "start_at": ("date started",),
            "type": ("direction",),
            "media_url": ("recording url", "recording details url"),
            "owner.name": ("target name", "name"),
            "owner.email": ("target email", "email"),
            "contact.name": ("contact name",),
            "contact.phone": ("contact phone", "external number"),
        },
        type_default="CALL",
    ),
    Export(
        "ringcentral",
        "a RingCentral call log export",
        (
            _sig("session id", "start time", "direction", "from phone number"),
            _sig("session id", "start time", "recording content uri"),
        ),
        {
            "external_id": ("id", "session id"),
            "start_at": ("start time",),
            "type": ("direction",),
            "media_url": ("recording content uri",),
            "contact.name": ("to name",),
            "contact.phone": ("to phone number",),
            "owner.name": ("from name",),
            "owner.phone": ("from phone number",),
        },
        type_default="CALL",
        note="RingCentral's from and to swap with the direction: check the owner and "
        "contact columns",
    ),
    Export(
        "salesforce",
        "a Salesforce Task (activity) export",
        (
            _sig("subject", "call type"),
            _sig("subject", "task subtype"),
            _sig("subject", "call duration in seconds"),
            _sig("subject", "who name"),
            _sig("subject", "who id", "activity date"),
            # report labels in other locales: subject and call type
            _sig("betreff", "anruftyp"),
            _sig("objet", "type d appel"),
            _sig("asunto", "tipo de llamada"),
            _sig("oggetto", "tipo di chiamata"),
            _sig("assunto", "tipo de chamada"),
            _sig("onderwerp", "gesprekstype"),
        ),
        {
            "external_id": ("id", "activity id", "task id"),
            "title": ("subject",),
            "type": ("call type",),
            "start_at": ("activity date time", "activity date", "date", "created date"),
            "owner.name": ("owner name", "assigned"),
            "owner.email": ("owner email",),
            "owner.phone": ("owner phone",),
            "contact.name": ("who name", "name", "contact"),
            "contact.email": ("who email", "email"),
            "contact.phone": ("who phone", "phone"),
        },
        type_default="CALL",
    ),
    Export(
        "teams",
        "a Microsoft Teams call records export (Graph callRecords: type, participants)",
        (_sig("type", "modalities", "start date time"),),
        {
            "start_at": ("start date time",),
            "type": ("type",),
            "media_url": ("recording content url",),
            "items": ("participants",),
        },
        type_default="MEETING",
    ),
    Export(
        "google-meet",
        "a Google Meet conference records export (Meet REST API)",
        (_sig("name", "start time", "space"),),
        {"external_id": ("name",), "start_at": ("start time",)},
        type_default="MEETING",
        note="Meet recordings are Google Drive files: export them and put their URLs in a column",
    ),
    Export(
        "webex",
        "a Webex meeting recordings export (Recordings API)",
        (_sig("meeting id", "topic", "time recorded"),),
        {
            "external_id": ("id",),
            "title": ("topic",),
            "start_at": ("time recorded",),
            "media_url": ("download url",),
            "owner.email": ("host email",),
        },
        type_default="MEETING",
    ),
    Export(
        "twilio",
        "a Twilio recordings export (REST API Recordings)",
        (_sig("call sid", "sid", "media url"), _sig("call sid", "sid", "date created")),
        {
            "external_id": ("sid",),
            "start_at": ("start time", "date created"),
            "media_url": ("media url",),
        },
        type_default="CALL",
    ),
    Export(
        "five9",
        "a Five9 call log report",
        (_sig("call id", "campaign", "ani", "dnis"), _sig("call id", "campaign", "agent name")),
        {
            "external_id": ("call id",),
            "type": ("call type",),
            "owner.name": ("agent name",),
            "owner.email": ("agent email",),
            "contact.phone": ("dnis",),
        },
        type_default="CALL",
    ),
    Export(
        "zoom-phone",
        "a Zoom Phone call history export",
        (_sig("caller number", "callee number", "direction"),),
        {
            "external_id": ("call id", "id"),
            "start_at": ("date time", "start time"),
            "type": ("direction",),
            "media_url": ("recording url", "download url"),
            "contact.name": ("callee name",),
            "contact.phone": ("callee number",),
        },
        type_default="CALL",
    ),
    Export(
        "talkdesk",
        "a Talkdesk calls report (Explore API)",
        (
            _sig("call id", "callsid", "contact phone number"),
            _sig("interaction id", "call type", "customer phone number"),
        ),
        {
            "external_id": ("call id", "interaction id"),
            "start_at": ("start at", "start time"),
            "type": ("type", "call type"),
            "media_url": ("recording url", "record"),
            "owner.name": ("user name", "agent name"),
            "owner.email": ("user email",),
            "contact.phone": ("contact phone number", "customer phone number"),
        },
        type_default="CALL",
    ),
    Export(
        "outreach",
        "an Outreach calls export (API v2 JSON:API)",
        (_sig("attributes dialed at", "attributes direction"),),
        {
            "external_id": ("id",),
            "start_at": ("attributes dialed at", "attributes answered at"),
            "type": ("attributes direction",),
            "media_url": ("attributes recording url",),
            "contact.phone": ("attributes to",),
        },
        type_default="CALL",
    ),
    Export(
        "salesloft",
        "a Salesloft calls export (API v2)",
        (_sig("called person id", "sentiment", "disposition"),),
        {
            "external_id": ("id",),
            "start_at": ("created at",),
            "media_url": ("recordings url",),
            "contact.phone": ("to",),
        },
        type_default="CALL",
    ),
    Export(
        "close",
        "a Close call activities export",
        (_sig("local phone", "recording url", "lead id"),),
        {
            "external_id": ("id",),
            "start_at": ("date created",),
            "type": ("direction",),
            "media_url": ("recording url",),
            "owner.name": ("user name",),
            "contact.phone": ("phone",),
        },
        type_default="CALL",
    ),
    Export(
        "pipedrive",
        "a Pipedrive call logs export",
        (_sig("from phone number", "to phone number", "has recording"),),
        {
            "external_id": ("id",),
            "start_at": ("start time",),
            "title": ("subject",),
            "contact.phone": ("to phone number",),
        },
        type_default="CALL",
        note="Pipedrive's call log holds no recording URL (has_recording only): put the "
        "recordings' URLs in a column",
    ),
    Export(
        "fireflies",
        "a Fireflies transcripts export (GraphQL API)",
        (_sig("organizer email", "sentences"), _sig("organizer email", "transcript url")),
        {
            "external_id": ("id",),
            "start_at": ("date",),
            "media_url": ("audio url", "video url"),
            "owner.email": ("organizer email",),
        },
        type_default="MEETING",
    ),
    Export(
        "otter",
        "an Otter speeches export",
        (_sig("otid", "start time"),),
        {"external_id": ("otid",), "start_at": ("start time",), "media_url": ("audio url",)},
        type_default="MEETING",
    ),
    Export(
        "fathom",
        "a Fathom meetings export (API v1)",
        (_sig("recording id", "calendar invitees"), _sig("recording id", "recorded by email")),
        {
            "external_id": ("recording id",),
            "start_at": ("recording start time", "scheduled start time"),
            "items": ("calendar invitees",),
        },
        type_default="MEETING",
        note="Fathom's API gives no recording URL (url is the Fathom page): export the "
        "recordings and put their URLs in a column",
    ),
    Export(
        "tldv",
        "a tl;dv meetings export (API)",
        (_sig("happened at", "organizer email", "invitees"),),
        {
            "external_id": ("id",),
            "start_at": ("happened at",),
            "title": ("name",),
            "items": ("invitees",),
        },
        type_default="MEETING",
        note="tl;dv's meetings list gives no recording URL (url is the tl;dv page): download "
        "the recordings and put their URLs in a column",
    ),
    Export(
        "avoma",
        "an Avoma meetings export (API)",
        (_sig("uuid", "organizer email", "attendees"), _sig("recording uuid", "is call")),
        {
            "external_id": ("uuid",),
            "start_at": ("start at",),
            "title": ("subject",),
            "items": ("attendees",),
        },
        type_default="MEETING",
        note="Avoma's meetings list gives no recording URL (its recordings API signs one per "
        "meeting): put the recordings' URLs in a column",
    ),
)


def recognise(columns: Sequence[str]) -> Export | None:
    """Return the export whose signature the headers hold (the largest one matched), or None."""
    have = {words(column) for column in columns}
    best: tuple[int, int, Export] | None = None
    for rank, export in enumerate(EXPORTS):
        for signature in export.signatures:
            if signature <= have:
                key = (len(signature), -rank, export)
                if best is None or key[:2] > best[:2]:
                    best = key
    return None if best is None else best[2]
