"""Writes the held-out exports of ``bench/init_eval.py`` and the values each row must become.

Six invented vendors' layouts, none of them on init's list of known exports and none used
while tuning its guesses: a German, a French and a Spanish Salesforce-like report, a
wrapped JSON call log, a JSONL of Teams-like meetings, and a US dialer CSV. Each row is
written from one truth (id, type, instant, media URL, emails, phones, transcript) so the
expected values cannot drift from the files. Messy as real exports are: title lines, a
row exported twice, mixed date formats, ``Name (email)`` cells, empty cells, local phones.

    python bench/init_eval/heldout.py   # rewrites bench/init_eval/heldout/
"""

# ruff: noqa: E501  (one truth a line: the rows read best unwrapped)
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).parent / "heldout"


def _utc(local: str, zone: str) -> str:
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _csv(rows: list[list[str]], delimiter: str = ",", head: str = "") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(rows)
    return head + out.getvalue()


def _truth(
    id_: str,
    kind: str,
    instant: str,
    url: str,
    emails: list[str],
    phones: list[str],
    transcript: str | None = None,
) -> dict[str, Any]:
    return {
        "id": id_,
        "type": kind,
        "start": instant,
        "media_url": url,
        "emails": sorted(emails),
        "phones": sorted(phones),
        "transcript": transcript,
    }


def german() -> tuple[str, list[dict[str, Any]], str]:
    """Write a German Salesforce-like report: title lines, ';', dd.mm.yyyy, time and zone columns."""
    people = [
        ("Jonas Weber", "jonas.weber@example.de"),
        ("Lea Schmidt", "lea.schmidt@example.de"),
    ]
    header = [
        "Aktivitäts-ID",
        "Betreff",
        "Anruftyp",
        "Datum",
        "Uhrzeit",
        "Zeitzone",
        "Zugewiesen",
        "Kontakt",
        "Telefon",
        "Aufzeichnung URL",
    ]
    rows, truths = [header], []
    data = [
        (
            "00T1A0000001",
            "Erstgespräch",
            "Ausgehend",
            "2025-11-03 09:15",
            "Europe/Berlin",
            0,
            "Max Braun",
            "+49 30 1234567",
        ),
        (
            "00T1A0000002",
            "Angebot",
            "Eingehend",
            "2025-11-03 14:40",
            "Europe/Berlin",
            1,
            "Anna Roth",
            "+49 89 7654321",
        ),
        (
            "00T1A0000003",
            "Nachfassen",
            "Ausgehend",
            "2025-11-04 08:05",
            "Europe/Vienna",
            0,
            "Paul Klein",
            "+43 1 5123456",
        ),
        (
            "00T1A0000004",
            "Demo",
            "Ausgehend",
            "2025-11-05 16:30",
            "Europe/Zurich",
            1,
            "Eva Huber",
            "+41 44 2345678",
        ),
        (
            "00T1A0000005",
            "Vertrag",
            "Eingehend",
            "2025-11-06 11:00",
            "Europe/Berlin",
            0,
            "Tim Wolf",
            "+49 40 3456789",
        ),
        (
            "00T1A0000006",
            "Rückruf",
            "Ausgehend",
            "2025-11-07 10:20",
            "Europe/Berlin",
            1,
            "Ida Lang",
            "+49 221 456789",
        ),
    ]
    for id_, subject, kind, local, zone, who, contact, phone in data:
        day, clock = local.split()
        y, m, d = day.split("-")
        url = f"https://aufnahmen.example-cdn.de/{id_}.mp3"
        name, email = people[who]
        rows.append(
            [
                id_,
                subject,
                kind,
                f"{d}.{m}.{y}",
                clock,
                zone,
                f"{name} ({email})",
                contact,
                phone,
                url,
            ]
        )
        truths.append(
            _truth(id_, "CALL", _utc(local, zone), url, [email], [phone.replace(" ", "")])
        )
    rows.append(rows[3])  # a row exported twice
    head = "Anrufe dieser Woche\r\nErstellt von: Jonas Weber\r\n\r\n"
    return _csv(rows, ";", head), truths, "Europe/Berlin"


def french() -> tuple[str, list[dict[str, Any]], str]:
    """Write a French Salesforce-like report: its own words, Windows zone names, a mixed date."""
    header = [
        "ID de l'activité",
        "Objet",
        "Type d'appel",
        "Date de début",
        "Fuseau horaire",
        "Attribué à",
        "E-mail du contact",
        "Enregistrement",
    ]
    rows, truths = [header], []
    data = [
        (
            "a0F7Q000001",
            "Découverte",
            "Sortant",
            "2025-10-14 09:00",
            "Romance Standard Time",
            "Europe/Paris",
            "claire@client.fr",
        ),
        (
            "a0F7Q000002",
            "Relance",
            "Entrant",
            "2025-10-15 15:30",
            "Romance Standard Time",
            "Europe/Paris",
            "luc@client.fr",
        ),
        (
            "a0F7Q000003",
            "Démo",
            "Sortant",
            "2025-10-16 10:45",
            "W. Europe Standard Time",
            "Europe/Berlin",
            "nina@client.be",
        ),
        (
            "a0F7Q000004",
            "Devis",
            "Sortant",
            "2025-10-17 17:10",
            "Romance Standard Time",
            "Europe/Paris",
            "marc@client.fr",
        ),
        (
            "a0F7Q000005",
            "Signature",
            "Entrant",
            "2025-10-20 08:30",
            "Romance Standard Time",
            "Europe/Paris",
            "sofia@client.fr",
        ),
    ]
    for n, (id_, subject, kind, local, win, zone, email) in enumerate(data):
        day, clock = local.split()
        y, m, d = day.split("-")
        written = f"{d}/{m}/{y} {clock}" if n != 2 else f"{y}-{m}-{d} {clock}"
        url = f"https://enregistrements.example-cdn.fr/{id_}.wav"
        rows.append(
            [
                id_,
                subject,
                kind,
                written,
                win,
                "Camille Martin <camille.martin@example.fr>",
                email,
                url,
            ]
        )
        truths.append(
            _truth(
                id_,
                "CALL",
                _utc(local, zone),
                url,
                sorted(["camille.martin@example.fr", email]),
                [],
            )
        )
    return _csv(rows, ","), truths, "Europe/Paris"


def spanish() -> tuple[str, list[dict[str, Any]], str]:
    """Write a Spanish report: no zone column, naive times, an empty contact cell."""
    header = [
        "Id",
        "Asunto",
        "Tipo",
        "Fecha",
        "Hora",
        "Propietario",
        "Correo del propietario",
        "Teléfono del cliente",
        "URL de la grabación",
    ]
    rows, truths = [header], []
    zone = "Europe/Madrid"
    data = [
        ("LLM-2001", "Primera llamada", "Llamada", "2025-09-01 10:00", "+34 911 234 567"),
        ("LLM-2002", "Seguimiento", "Llamada", "2025-09-02 12:30", "+34 932 345 678"),
        ("LLM-2003", "Reunión de cierre", "Reunión", "2025-09-03 16:00", ""),
        ("LLM-2004", "Demo", "Reunión", "2025-09-04 09:45", "+34 954 456 789"),
        ("LLM-2005", "Renovación", "Llamada", "2025-09-05 13:15", "+34 963 567 890"),
    ]
    for id_, subject, kind, local, phone in data:
        day, clock = local.split()
        y, m, d = day.split("-")
        url = f"https://grabaciones.example-cdn.es/{id_.lower()}.mp4"
        rows.append(
            [
                id_,
                subject,
                kind,
                f"{d}/{m}/{y}",
                clock,
                "Lucía García",
                "lucia.garcia@example.es",
                phone,
                url,
            ]
        )
        truth_kind = "MEETING" if kind == "Reunión" else "CALL"
        truths.append(
            _truth(
                id_,
                truth_kind,
                _utc(local, zone),
                url,
                ["lucia.garcia@example.es"],
                [phone.replace(" ", "")] if phone else [],
            )
        )
    return _csv(rows, ","), truths, zone


def callharbor() -> tuple[str, list[dict[str, Any]], str]:
    """Write a wrapped JSON call log: epoch milliseconds, nested agent, sentence objects."""
    items, truths = [], []
    data = [
        (
            "ch_7f3a01",
            "voice",
            "2025-08-11T15:02:00",
            "Ray Ortiz",
            "ray@harbor-client.com",
            "+1 415 555 0101",
        ),
        (
            "ch_7f3a02",
            "video",
            "2025-08-11T18:30:00",
            "Mia Chen",
            "mia@harbor-client.com",
            "+1 212 555 0102",
        ),
        (
            "ch_7f3a03",
            "voice",
            "2025-08-12T13:45:00",
            "Ray Ortiz",
            "ray@harbor-client.com",
            "+1 312 555 0103",
        ),
        (
            "ch_7f3a04",
            "voice",
            "2025-08-13T20:10:00",
            "Mia Chen",
            "mia@harbor-client.com",
            "+1 646 555 0104",
        ),
        (
            "ch_7f3a05",
            "video",
            "2025-08-14T16:00:00",
            "Ray Ortiz",
            "ray@harbor-client.com",
            "+1 415 555 0105",
        ),
    ]
    for id_, kind, utc, agent, email, phone in data:
        moment = datetime.fromisoformat(utc).replace(tzinfo=UTC)
        url = f"https://media.callharbor.example/rec/{id_}.mp3"
        said = [
            {"who": agent, "said": "Hello, thanks for taking the call."},
            {"who": "Customer", "said": "Happy to talk."},
        ]
        items.append(
            {
                "callUuid": id_,
                "kind": kind,
                "begunAt": int(moment.timestamp() * 1000),
                "durationSec": 600,
                "recordingLink": url,
                "agent": {"fullName": agent, "mail": email},
                "counterpart": {"label": "Customer", "number": phone},
                "utterances": said,
            }
        )
        text = "\n".join(f"{s['who']}: {s['said']}" for s in said)
        truths.append(
            _truth(
                id_,
                "MEETING" if kind == "video" else "CALL",
                moment.isoformat().replace("+00:00", "Z"),
                url,
                [email],
                [phone.replace(" ", "")],
                text,
            )
        )
    body = {"meta": {"page": 1, "count": len(items)}, "data": {"calls": items}}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n", truths, "UTC"


def meetloop() -> tuple[str, list[dict[str, Any]], str]:
    """Write JSONL meetings: groupCall/peerToPeer, offsets, nested user and phone identities."""
    lines, truths = [], []
    data = [
        (
            "ml-0001",
            "groupCall",
            "2025-07-01T09:00:00+02:00",
            ["ana@loop.example", "ben@loop.example"],
            [],
        ),
        (
            "ml-0002",
            "peerToPeer",
            "2025-07-01T11:30:00+02:00",
            ["ana@loop.example"],
            ["+14155550111"],
        ),
        (
            "ml-0003",
            "groupCall",
            "2025-07-02T15:00:00-04:00",
            ["cy@loop.example", "dee@loop.example"],
            [],
        ),
        (
            "ml-0004",
            "peerToPeer",
            "2025-07-03T08:15:00+01:00",
            ["ben@loop.example"],
            ["+442079460958"],
        ),
        (
            "ml-0005",
            "groupCall",
            "2025-07-03T17:45:00+02:00",
            ["ana@loop.example", "cy@loop.example"],
            ["+14155550112"],
        ),
    ]
    for id_, kind, start, emails, phones in data:
        members: list[dict[str, Any]] = [
            {"user": {"displayName": e.split("@")[0].title(), "userPrincipalName": e}}
            for e in emails
        ]
        members += [{"phone": {"id": p}} for p in phones]
        url = f"https://video.loop.example/recordings/{id_}.mp4"
        lines.append(
            json.dumps(
                {
                    "session_key": id_,
                    "format": kind,
                    "opened": start,
                    "closed": start,
                    "video": {"url": url},
                    "members": members,
                    "transcript": f"Notes of {id_}.",
                }
            )
        )
        utc = datetime.fromisoformat(start).astimezone(UTC).isoformat().replace("+00:00", "Z")
        truths.append(
            _truth(
                id_,
                "MEETING" if kind == "groupCall" else "CALL",
                utc,
                url,
                emails,
                phones,
                f"Notes of {id_}.",
            )
        )
    return "\n".join(lines) + "\n", truths, "UTC"


def dialwave() -> tuple[str, list[dict[str, Any]], str]:
    """Write a US dialer CSV: US dates, 12-hour times, a TZ column of offsets, national numbers."""
    header = [
        "Call SID",
        "Direction",
        "Call Date",
        "Call Time",
        "TZ",
        "Rep",
        "Customer Phone",
        "Disposition",
        "Recording",
        "Created On",
    ]
    rows, truths = [header], []
    data = [
        ("CA1001", "outbound", "2025-06-02 09:05", "-05:00", "(415) 555-0199"),
        ("CA1002", "inbound", "2025-06-02 13:40", "-05:00", "(212) 555-0142"),
        ("CA1003", "outbound", "2025-06-03 10:15", "-07:00", "(312) 555-0170"),
        ("CA1004", "outbound", "2025-06-04 15:55", "-04:00", "(646) 555-0123"),
        ("CA1005", "inbound", "2025-06-05 08:30", "-05:00", "(303) 555-0188"),
        ("CA1006", "outbound", "2025-06-05 11:20", "-06:00", "(617) 555-0155"),
    ]
    for id_, kind, local, offset, phone in data:
        day, clock = local.split()
        y, m, d = day.split("-")
        hour, minute = (int(x) for x in clock.split(":"))
        twelve = f"{(hour - 1) % 12 + 1}:{minute:02d} {'AM' if hour < 12 else 'PM'}"
        url = f"https://recordings.dialwave.example/{id_}.mp3"
        rows.append(
            [
                id_,
                kind,
                f"{m}/{d}/{y}",
                twelve,
                offset,
                "Sam Lee <sam.lee@dialwave-customer.com>",
                phone,
                "Connected",
                url,
                "2025-06-30T00:00:00Z",
            ]
        )
        moment = datetime.fromisoformat(f"{local}:00{offset}").astimezone(UTC)
        digits = "".join(c for c in phone if c.isdigit())
        truths.append(
            _truth(
                id_,
                "CALL",
                moment.isoformat().replace("+00:00", "Z"),
                url,
                ["sam.lee@dialwave-customer.com"],
                [f"+1{digits}"],
            )
        )
    rows.append(rows[2])  # a row exported twice
    return _csv(rows, ","), truths, "America/Chicago"


FILES = {
    "sf-report-de.csv": german,
    "sf-report-fr.csv": french,
    "sf-report-es.csv": spanish,
    "callharbor.json": callharbor,
    "meetloop.jsonl": meetloop,
    "dialwave.csv": dialwave,
}


# --- set B: written after init's guesses were frozen, run once to measure -------------------


def italian() -> tuple[str, list[dict[str, Any]], str]:
    """Write an Italian CRM report: ';', day-first date and time in one cell, no zone column."""
    header = [
        "Codice chiamata",
        "Oggetto",
        "Tipo",
        "Data e ora",
        "Operatore",
        "Email operatore",
        "Numero cliente",
        "Registrazione",
    ]
    rows, truths = [header], []
    zone = "Europe/Rome"
    data = [
        ("CH-7701", "Primo contatto", "Chiamata", "2025-04-03 10:00", "+39 06 1234 5678"),
        ("CH-7702", "Offerta", "Chiamata", "2025-04-14 15:20", "+39 02 8765 4321"),
        ("CH-7703", "Riunione di avvio", "Riunione", "2025-04-22 09:30", ""),
        ("CH-7704", "Rinnovo", "Chiamata", "2025-05-02 11:45", "+39 011 234 5678"),
        ("CH-7705", "Verifica", "Riunione", "2025-05-19 16:00", ""),
    ]
    for id_, subject, kind, local, phone in data:
        day, clock = local.split()
        y, m, d = day.split("-")
        url = f"https://registrazioni.example-cdn.it/{id_}.mp3"
        rows.append(
            [
                id_,
                subject,
                kind,
                f"{d}/{m}/{y} {clock}",
                "Giulia Russo",
                "giulia.russo@example.it",
                phone,
                url,
            ]
        )
        truths.append(
            _truth(
                id_,
                "MEETING" if kind == "Riunione" else "CALL",
                _utc(local, zone),
                url,
                ["giulia.russo@example.it"],
                [phone.replace(" ", "")] if phone else [],
            )
        )
    return _csv(rows, ";"), truths, zone


def voxly() -> tuple[str, list[dict[str, Any]], str]:
    """Write a top-level JSON array: channel phone/video, nested caller and callee, href media."""
    items, truths = [], []
    data = [
        ("VX-20250403-01", "phone", "2025-04-03T10:00:00-05:00", "+1 415 555 2671"),
        ("VX-20250403-02", "video", "2025-04-03T13:30:00-05:00", "+1 212 555 0142"),
        ("VX-20250404-01", "phone", "2025-04-04T09:10:00-05:00", "+1 312 555 0170"),
        ("VX-20250407-01", "video", "2025-04-07T16:45:00-04:00", "+1 646 555 0123"),
    ]
    for id_, channel, when, phone in data:
        url = f"https://cdn.voxly.example/a/{id_}.m4a"
        items.append(
            {
                "ref": id_,
                "channel": channel,
                "when": when,
                "audio": {"href": url},
                "caller": {"name": "Nora Blake", "email": "nora@voxly-customer.example"},
                "callee": {"name": "Prospect", "phone": phone},
                "notes": "Follow up next week.",
            }
        )
        utc = datetime.fromisoformat(when).astimezone(UTC).isoformat().replace("+00:00", "Z")
        truths.append(
            _truth(
                id_,
                "MEETING" if channel == "video" else "CALL",
                utc,
                url,
                ["nora@voxly-customer.example"],
                [phone.replace(" ", "")],
            )
        )
    return json.dumps(items, indent=1) + "\n", truths, "UTC"


def huddle() -> tuple[str, list[dict[str, Any]], str]:
    """Write JSONL meetings: attendees as Name <email> strings, a transcript of speaker/line."""
    lines, truths = [], []
    data = [
        (
            "hd_01HX1",
            "2025-03-10T14:00:00Z",
            ["Ivy Park <ivy@huddle-co.example>", "Jon Ames <jon@client.example>"],
        ),
        (
            "hd_01HX2",
            "2025-03-11T15:30:00Z",
            ["Ivy Park <ivy@huddle-co.example>", "Kai Lund <kai@client.example>"],
        ),
        (
            "hd_01HX3",
            "2025-03-12T09:00:00Z",
            [
                "Ola Berg <ola@huddle-co.example>",
                "Jon Ames <jon@client.example>",
                "Pia Roth <pia@client.example>",
            ],
        ),
    ]
    for id_, start, attendees in data:
        url = f"https://files.huddle-co.example/rec/{id_}.webm"
        said = [
            {"speaker": attendees[0].split(" <")[0], "line": "Shall we begin with the agenda?"},
            {"speaker": attendees[1].split(" <")[0], "line": "Yes, the pricing first please."},
        ]
        lines.append(
            json.dumps(
                {
                    "meetingKey": id_,
                    "kind": "meeting",
                    "scheduledStart": start,
                    "actualStart": start,
                    "recordingFile": url,
                    "attendees": attendees,
                    "summaryTranscript": said,
                }
            )
        )
        emails = [a.split("<")[1].rstrip(">") for a in attendees]
        text = "\n".join(f"{s['speaker']}: {s['line']}" for s in said)
        truths.append(_truth(id_, "MEETING", start, url, emails, [], text))
    return "\n".join(lines) + "\n", truths, "UTC"


def dutch() -> tuple[str, list[dict[str, Any]], str]:
    """Write a Dutch export: dd-mm-yyyy, a time column, a zone column, Name (email) cells."""
    header = [
        "Gesprek ID",
        "Onderwerp",
        "Richting",
        "Datum",
        "Tijd",
        "Tijdzone",
        "Medewerker",
        "Klant telefoon",
        "Opname",
    ]
    rows, truths = [header], []
    data = [
        (
            "G-5501",
            "Kennismaking",
            "uitgaand",
            "2025-02-03 09:00",
            "Europe/Amsterdam",
            "+31 20 123 4567",
        ),
        (
            "G-5502",
            "Offerte",
            "inkomend",
            "2025-02-04 14:15",
            "Europe/Amsterdam",
            "+31 10 765 4321",
        ),
        ("G-5503", "Demo", "uitgaand", "2025-02-05 11:30", "Europe/Brussels", "+32 2 234 56 78"),
        (
            "G-5504",
            "Contract",
            "uitgaand",
            "2025-02-06 16:45",
            "Europe/Amsterdam",
            "+31 30 234 5678",
        ),
        ("G-5505", "Nazorg", "inkomend", "2025-02-07 10:05", "Europe/Amsterdam", "+31 40 345 6789"),
    ]
    for id_, subject, direction, local, zone, phone in data:
        day, clock = local.split()
        y, m, d = day.split("-")
        url = f"https://opnames.example-cdn.nl/{id_}.wav"
        rows.append(
            [
                id_,
                subject,
                direction,
                f"{d}-{m}-{y}",
                clock,
                zone,
                "Sanne de Vries (sanne@example.nl)",
                phone,
                url,
            ]
        )
        truths.append(
            _truth(
                id_, "CALL", _utc(local, zone), url, ["sanne@example.nl"], [phone.replace(" ", "")]
            )
        )
    rows.append(rows[1])  # a row exported twice
    return _csv(rows, ","), truths, "Europe/Amsterdam"


def callbook() -> tuple[str, list[dict[str, Any]], str]:
    """Write a US CSV: "Mar 4, 2025 2:05 PM" activity times beside later logged stamps."""
    header = [
        "Call Key",
        "Logged At",
        "Occurred",
        "Kind",
        "Agent Email",
        "Prospect Email",
        "Prospect Phone",
        "Audio Link",
    ]
    rows, truths = [header], []
    zone = "America/Los_Angeles"
    data = [
        ("cb-1001", "2025-03-04 14:05", "Phone Call", "pat@prospect.example", "(415) 555-2671"),
        ("cb-1002", "2025-03-05 09:40", "Phone Call", "lou@prospect.example", "(206) 555-0147"),
        ("cb-1003", "2025-03-06 11:00", "Video Meeting", "kim@prospect.example", ""),
        ("cb-1004", "2025-03-07 16:20", "Phone Call", "", "(503) 555-0199"),
        ("cb-1005", "2025-03-10 08:55", "Video Meeting", "ray@prospect.example", ""),
    ]
    for id_, local, kind, email, phone in data:
        moment = datetime.fromisoformat(local)
        hour = moment.hour % 12 or 12
        shown = f"{moment:%b} {moment.day}, {moment.year} {hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"
        url = f"https://audio.callbook.example/{id_}.mp3"
        rows.append(
            [
                id_,
                "2025-03-20T18:00:00Z",
                shown,
                kind,
                "sam@callbook-customer.example",
                email,
                phone,
                url,
            ]
        )
        digits = "".join(c for c in phone if c.isdigit())
        emails = ["sam@callbook-customer.example"] + ([email] if email else [])
        truths.append(
            _truth(
                id_,
                "MEETING" if "Meeting" in kind else "CALL",
                _utc(local, zone),
                url,
                emails,
                [f"+1{digits}"] if phone else [],
            )
        )
    return _csv(rows, ","), truths, zone


def portuguese() -> tuple[str, list[dict[str, Any]], str]:
    """Write a Brazilian report: dd/mm/yyyy and a time column, Saída/Entrada, a new role word."""
    header = [
        "ID",
        "Assunto",
        "Tipo de chamada",
        "Data",
        "Hora",
        "Responsável",
        "E-mail do contato",
        "Gravação",
    ]
    rows, truths = [header], []
    zone = "America/Sao_Paulo"
    data = [
        ("BR-301", "Apresentação", "Saída", "2025-01-06 10:00", "ana.souza@cliente.example"),
        ("BR-302", "Proposta", "Entrada", "2025-01-08 14:30", "bruno.lima@cliente.example"),
        ("BR-303", "Negociação", "Saída", "2025-01-09 09:15", "carla.dias@cliente.example"),
        ("BR-304", "Fechamento", "Saída", "2025-01-13 16:40", "davi.rocha@cliente.example"),
    ]
    for id_, subject, kind, local, email in data:
        day, clock = local.split()
        y, m, d = day.split("-")
        url = f"https://gravacoes.example-cdn.com.br/{id_}.mp3"
        rows.append([id_, subject, kind, f"{d}/{m}/{y}", clock, "Marina Costa", email, url])
        truths.append(_truth(id_, "CALL", _utc(local, zone), url, [email], []))
    return _csv(rows, ","), truths, zone


FILES_B = {
    "ringo-it.csv": italian,
    "voxly.json": voxly,
    "huddle.jsonl": huddle,
    "nl-export.csv": dutch,
    "callbook.csv": callbook,
    "pt-relatorio.csv": portuguese,
}


# --- set C: written after the fixes set B led to, run once to measure ----------------------


def swedish() -> tuple[str, list[dict[str, Any]], str]:
    """Write a Swedish report: words init has no list of, ';', date and time apart, a zone."""
    header = [
        "Samtals-ID",
        "Ämne",
        "Typ",
        "Datum",
        "Klockslag",
        "Tidszon",
        "Handläggare",
        "Kundens telefon",
        "Inspelning",
    ]
    rows, truths = [header], []
    data = [
        (
            "S-9001",
            "Första kontakt",
            "Samtal",
            "2025-03-03 09:30",
            "Europe/Stockholm",
            "+46 8 123 456 78",
        ),
        ("S-9002", "Offert", "Samtal", "2025-03-04 13:00", "Europe/Stockholm", "+46 31 123 45 67"),
        ("S-9003", "Uppstart", "Möte", "2025-03-05 10:15", "Europe/Oslo", ""),
        (
            "S-9004",
            "Förnyelse",
            "Samtal",
            "2025-03-14 15:45",
            "Europe/Stockholm",
            "+46 40 123 45 67",
        ),
    ]
    for id_, subject, kind, local, zone, phone in data:
        day, clock = local.split()
        url = f"https://inspelningar.example-cdn.se/{id_}.mp3"
        rows.append(
            [id_, subject, kind, day, clock, zone, "Elin Berg (elin.berg@example.se)", phone, url]
        )
        truths.append(
            _truth(
                id_,
                "MEETING" if kind == "Möte" else "CALL",
                _utc(local, zone),
                url,
                ["elin.berg@example.se"],
                [phone.replace(" ", "")] if phone else [],
            )
        )
    return _csv(rows, ";"), truths, "Europe/Stockholm"


def meetbase() -> tuple[str, list[dict[str, Any]], str]:
    """Write a wrapped JSON object: sessions under result, a host cell, guests, captions."""
    sessions, truths = [], []
    data = [
        ("ses_41a", "video", "2025-02-10T15:00:00Z", [("Al Moss", "al@guest.example")]),
        ("ses_41b", "audio", "2025-02-11T16:30:00Z", [("Bea Ng", "bea@guest.example")]),
        (
            "ses_41c",
            "video",
            "2025-02-12T14:45:00Z",
            [("Al Moss", "al@guest.example"), ("Cy Fox", "cy@guest.example")],
        ),
    ]
    for id_, mode, start, guests in data:
        url = f"https://media.meetbase.example/{id_}.mp4"
        captions = [
            {"by": "Host", "content": "Welcome to the session."},
            {"by": guests[0][0], "content": "Thanks, good to be here."},
        ]
        sessions.append(
            {
                "sessionId": id_,
                "mode": mode,
                "startsAt": start,
                "mediaUrl": url,
                "host": "Dee Host <dee@meetbase-customer.example>",
                "guests": [{"fullName": n, "emailAddress": e} for n, e in guests],
                "captions": captions,
            }
        )
        emails = ["dee@meetbase-customer.example"] + [e for _n, e in guests]
        text = "\n".join(f"{c['by']}: {c['content']}" for c in captions)
        truths.append(
            _truth(id_, "MEETING" if mode == "video" else "CALL", start, url, emails, [], text)
        )
    body = {"ok": True, "result": {"count": len(sessions), "sessions": sessions}}
    return json.dumps(body, indent=1) + "\n", truths, "UTC"


def dialerpro() -> tuple[str, list[dict[str, Any]], str]:
    """Write a US dialer CSV: an id header with no id word, local naive times, end times."""
    header = [
        "Interaction #",
        "Start (Local)",
        "End (Local)",
        "Call Direction",
        "User",
        "User E-mail",
        "Dialed Number",
        "Recording Link",
    ]
    rows, truths = [header], []
    zone = "America/Denver"
    data = [
        ("880001", "2025-05-06 14:03:22", "Outbound", "(720) 555-0131"),
        ("880002", "2025-05-06 15:10:05", "Inbound", "(303) 555-0190"),
        ("880003", "2025-05-07 09:45:00", "Outbound", "(970) 555-0112"),
        ("880004", "2025-05-08 11:20:47", "Outbound", "(719) 555-0168"),
    ]
    for id_, local, direction, phone in data:
        url = f"https://rec.dialerpro.example/{id_}.wav"
        rows.append(
            [
                id_,
                local,
                local.replace(" 1", " 2", 1),
                direction,
                "Max Hale",
                "max.hale@dialerpro-customer.example",
                phone,
                url,
            ]
        )
        digits = "".join(c for c in phone if c.isdigit())
        truths.append(
            _truth(
                id_,
                "CALL",
                _utc(local.replace(" ", "T"), zone),
                url,
                ["max.hale@dialerpro-customer.example"],
                [f"+1{digits}"],
            )
        )
    return _csv(rows, ","), truths, zone


def activities() -> tuple[str, list[dict[str, Any]], str]:
    """Write JSONL CRM activities: nested activity, owner, contact and attachment objects."""
    lines, truths = [], []
    data = [
        ("act-501", "call", "2025-06-09T14:00:00+00:00", "+14155550123"),
        ("act-502", "meeting", "2025-06-10T16:30:00+00:00", "+12125550187"),
        ("act-503", "call", "2025-06-11T13:15:00+00:00", "+13125550144"),
    ]
    for id_, kind, when, phone in data:
        url = f"https://files.crm.example/att/{id_}.mp3"
        lines.append(
            json.dumps(
                {
                    "activity": {"id": id_, "kind": kind, "occurred_at": when},
                    "owner": {"email": "owen@crm-customer.example"},
                    "contact": {"name": "Client Person", "phone": phone},
                    "attachments": {"recording": url},
                    "created_at": "2025-06-30T00:00:00+00:00",
                }
            )
        )
        utc = datetime.fromisoformat(when).astimezone(UTC).isoformat().replace("+00:00", "Z")
        truths.append(
            _truth(
                id_,
                "MEETING" if kind == "meeting" else "CALL",
                utc,
                url,
                ["owen@crm-customer.example"],
                [phone],
            )
        )
    return "\n".join(lines) + "\n", truths, "UTC"


def mexican() -> tuple[str, list[dict[str, Any]], str]:
    """Write a Mexican report: Folio ids, Canal phone/video call, a date-time cell."""
    header = [
        "Folio",
        "Motivo",
        "Canal",
        "Fecha y hora",
        "Ejecutivo",
        "Correo ejecutivo",
        "Teléfono cliente",
        "Audio",
    ]
    rows, truths = [header], []
    zone = "America/Mexico_City"
    data = [
        ("F-10021", "Cotización", "Teléfono", "2025-07-01 10:00", "+52 55 1234 5678"),
        ("F-10022", "Seguimiento", "Videollamada", "2025-07-15 12:30", ""),
        ("F-10023", "Cierre", "Teléfono", "2025-07-22 17:45", "+52 33 1234 5678"),
        ("F-10024", "Soporte", "Teléfono", "2025-08-05 09:05", "+52 81 1234 5678"),
    ]
    for id_, reason, channel, local, phone in data:
        day, clock = local.split()
        y, m, d = day.split("-")
        url = f"https://audios.example-cdn.mx/{id_}.mp3"
        rows.append(
            [
                id_,
                reason,
                channel,
                f"{d}/{m}/{y} {clock}",
                "Rosa Vega",
                "rosa.vega@example.mx",
                phone,
                url,
            ]
        )
        truths.append(
            _truth(
                id_,
                "MEETING" if channel == "Videollamada" else "CALL",
                _utc(local, zone),
                url,
                ["rosa.vega@example.mx"],
                [phone.replace(" ", "")] if phone else [],
            )
        )
    return _csv(rows, ","), truths, zone


FILES_C = {
    "swe-rapport.csv": swedish,
    "meetbase.json": meetbase,
    "dialer-pro.csv": dialerpro,
    "crm-activities.jsonl": activities,
    "mx-reporte.csv": mexican,
}


def main() -> None:
    """Write each held-out set (heldout/, heldout-b/, heldout-c/) and its expected.json."""
    sets = (
        (HERE, FILES),
        (HERE.with_name("heldout-b"), FILES_B),
        (HERE.with_name("heldout-c"), FILES_C),
    )
    for folder, files in sets:
        folder.mkdir(exist_ok=True)
        expected = {}
        for name, make in files.items():
            text, truths, zone = make()
            (folder / name).write_bytes(text.encode("utf-8"))
            expected[name] = {"timezone": zone, "rows": truths}
        text = json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
        (folder / "expected.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
