"""The participants ``ae-import init`` finds: the owner, a contact, a list cell, a JSON list.

Pure. Flat files name a person's columns by a role and an attribute (``Host Email``,
``Owner.Phone``, ``Who.Name``, ``user.email``); JSONL exports hold a list of objects
(Gong's ``parties``). The owner is sent with ``is_owner: true``; a contact described by
several columns becomes one ``participants.list`` entry through a template
(``"{Who.Name} <{Who.Phone}>"``). Every phone number met is kept, so that the mapping
can say which region national numbers belong to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ae_import.reading import Sample

from .cells import is_addressed, mostly, person_of, share
from .exports import Export
from .guess import Line
from .values import is_email, is_phone, is_url, words

__all__ = ["People", "find_people"]

_OWNER_ROLES = (
    "primary user",
    "assigned to",
    "account owner",
    "sales rep",
    "organizer",
    "organiser",
    "assigned",
    "owner",
    "host",
    "user",
    "agent",
    "rep",
    "zugewiesen an",
    "zugewiesen",
    "inhaber",
    "besitzer",
    "eigentümer",
    "attribué à",
    "propriétaire",
    "responsable",
    "propietario",
    "asignado a",
    "asignado",
    "proprietario",
    "assegnato a",
    "eigenaar",
    "operatore",
    "agente",
    "vendedor",
    "vendeur",
    "commerciale",
    "mitarbeiter",
    "medewerker",
    "verkoper",
    "atendente",
    "consultor",
    "responsável",
    "responsavel",
    "responsabile",
    "usuario",
    "utilisateur",
    "benutzer",
)
_CONTACT_ROLES = (
    "who",
    "contact",
    "customer",
    "prospect",
    "lead",
    "client",
    "callee",
    "external",
    "kontakt",
    "kunde",
    "cliente",
    "contacto",
    "contatto",
    "klant",
)
_BARE_NAME_ROLES = (
    "host",
    "owner",
    "organizer",
    "organiser",
    "assigned",
    "assigned to",
    "zugewiesen",
    "zugewiesen an",
    "inhaber",
    "attribué à",
    "propriétaire",
    "propietario",
    "asignado a",
    "proprietario",
)
_ATTRS = {
    "name": ("name", "full name", "display name"),
    "first_name": ("first name", "firstname", "given name"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "email": (
        "email",
        "email address",
        "e mail",
        "mail",
        "correo",
        "correo electrónico",
        "courriel",
    ),
    "phone": (
        *("phone", "phone number", "number", "mobile", "tel", "telephone", "telefon"),
        *("téléphone", "teléfono", "telefono", "telefoonnummer", "rufnummer", "numéro"),
        *("numero", "número", "nummer", "telefone"),
    ),
}
_LIST_NAMES = (
    "participants",
    "attendees",
    "invitees",
    "guests",
    "participant emails",
    "attendee emails",
    "participant list",
    "attendee list",
    "other participants",
    "people",
    "speakers",
)
# Headers of people who are not a call's participants: the record's own stamps, our numbers.
_NOT_PEOPLE = frozenset(
    ["created", "modified", "updated", "last", "deleted", "by", "from", "caller", "company"]
)
_ID_WORDS = frozenset(["id", "ids", "sid", "uuid", "guid", "key", "ref"])
_OF_WORDS = frozenset(["of", "de", "del", "du", "des", "von", "der", "di", "da", "do", "della"])
_UPN = ("user principal name", "upn", "mail", "email", "email address", "e mail")
_ITEM_PATHS = (
    "parties",
    "participants",
    "attendees",
    "invitees",
    "speakers",
    "people",
    "guests",
    "calendar invitees",
    "meeting attendees",
)


@dataclass
class People:
    """The participants section's lines, the contact's name column, and the phones seen."""

    lines: list[Line] = field(default_factory=list)
    contact_name: str | None = None
    contact_label: str | None = None  # the contact's name, else email, else phone column
    phones: list[str] = field(default_factory=list)


def _fits(sample: Sample, column: str, attr: str) -> bool:
    """Tell whether every sampled value of ``column`` can be the participant ``attr``."""
    values = sample.values(column)
    if not values or not all(isinstance(v, str) for v in values):
        return False
    if attr == "email":
        return all(is_email(v) for v in values)
    if attr == "phone":
        return all(is_phone(v) for v in values)
    return not any(is_email(v) or is_url(v) for v in values)


def _role_columns(
    sample: Sample, roles: Sequence[str], taken: set[str]
) -> tuple[str, dict[str, str]]:
    """Return the role with the most attribute columns, and those columns (attribute -> column)."""
    best: tuple[int, int, str, dict[str, str]] = (0, 0, "", {})
    for rank, role in enumerate(roles):
        found: dict[str, str] = {}
        for column in sample.columns:
            if column in taken:
                continue
            text = words(column)
            attr = None
            if text == role and role in _BARE_NAME_ROLES:
                attr = "name"
            elif text.startswith(role + " "):
                rest = text[len(role) + 1 :]
                attr = next((a for a, names in _ATTRS.items() if rest in names), None)
            elif text.endswith(" " + role):  # the attribute first: Correo del propietario
                head = text[: -len(role) - 1].split()
                if head and head[-1] in _OF_WORDS:
                    head = head[:-1]
                rest = " ".join(head)
                attr = next((a for a, names in _ATTRS.items() if rest in names), None)
            if attr is not None and attr not in found and _fits(sample, column, attr):
                found[attr] = column
        if len(found) > best[0]:
            best = (len(found), -rank, role, found)
    return best[2], best[3]


def _preferred(sample: Sample, export: Export | None, role: str) -> dict[str, str]:
    """Return the export's preferred columns of ``role`` (owner or contact) that fit."""
    if export is None:
        return {}
    by_words = {words(c): c for c in reversed(sample.columns)}
    found = {}
    for attr in _ATTRS:
        for wanted in export.prefer.get(f"{role}.{attr}", ()):
            column = by_words.get(wanted)
            if column is not None and _fits(sample, column, attr):
                found[attr] = column
                break
    return found


def _flow(columns: dict[str, str]) -> dict[str, str]:
    return {attr: columns[attr] for attr in _ATTRS if attr in columns}


def _leaves(item: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Return an item's scalar values by key path (``user.displayName``), two levels deep."""
    found: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict) and depth < 2:
            found.update(_leaves(value, f"{prefix}{key}.", depth + 1))
        elif not isinstance(value, dict | list):
            found[f"{prefix}{key}"] = value
    return found


def _attr_of(path: str) -> str | None:
    """Return the participant attribute a key path names (``phone.id`` is a phone)."""
    parts = [words(p) for p in path.split(".")]
    last, parent = parts[-1], (parts[-2] if len(parts) > 1 else "")
    if last in _UPN or last.endswith(" email") or last.endswith(" email address"):
        return "email"
    if last in ("id", "number", "value", "e164") and parent in ("phone", "telephone", "caller"):
        return "phone"
    return next((a for a, names in _ATTRS.items() if last in names), None)


def _items(sample: Sample, export: Export | None) -> tuple[str, dict[str, str]] | None:
    """Find a JSON list of participant objects: its path and attribute -> key path."""
    wanted = export.prefer.get("items", ()) if export else ()
    candidates = []
    for index, column in enumerate(sample.columns):
        if "[" in column:
            continue
        lists = [v for v in sample.values(column) if isinstance(v, list)]
        objects = [_leaves(item) for value in lists for item in value if isinstance(item, dict)]
        if not objects:
            continue
        keys: dict[str, None] = {}
        for item in objects:
            keys.update(dict.fromkeys(item))
        found: dict[str, str] = {}
        for key in sorted(keys, key=lambda k: k.count(".")):
            attr = _attr_of(key)
            if attr is None or attr in found:
                continue
            present = [o[key] for o in objects if o.get(key) not in (None, "")]
            test = {"email": is_email, "phone": is_phone}.get(attr)
            if test is not None and (not present or share(present, test) < 0.8):
                continue
            if attr == "name" and any(is_email(v) for v in present):
                continue
            found[attr] = key
        if not {"name", "email", "phone"} & set(found):
            continue
        text = words(column)
        rank = (text in wanted, text in _ITEM_PATHS, len(found), -index)
        candidates.append((rank, column, found))
    if not candidates:
        return None
    _rank, column, found = max(candidates)
    return column, found


def _person_column(sample: Sample, roles: Sequence[str] | None, taken: set[str]) -> str | None:
    """Find one column whose cells are people with an address (``Name (email)``).

    ``roles`` None: any header that names no contact and no record stamp (Created By).
    """
    for role in roles if roles is not None else ("",):
        for column in sample.columns:
            if column in taken or "[" in column:
                continue
            text = words(column)
            if roles is None:
                if set(text.split()) & (_NOT_PEOPLE | _ID_WORDS) or any(
                    r in text for r in _CONTACT_ROLES
                ):
                    continue
            elif text != role and text not in (f"{role} name", f"{role} email", f"{role}s"):
                continue
            values = sample.values(column)
            if not mostly(values, lambda v: person_of(v) is not None, 0.9):
                continue
            if roles is None and share(values, _named_and_addressed) < 0.5:
                continue  # bare numbers or emails under an unknown header: not an owner
            if share(values, is_addressed) >= 0.5 and not all(is_email(v) for v in values):
                return column
    return None


def _addresses(sample: Sample, taken: set[str]) -> dict[str, str]:
    """Return bare email and phone columns no header role explains: the other party."""
    found: dict[str, str] = {}
    for column in sample.columns:
        text = set(words(column).split())
        if column in taken or "[" in column or text & (_NOT_PEOPLE | _ID_WORDS):
            continue
        for attr in ("email", "phone"):
            if attr not in found and _fits(sample, column, attr):
                values = sample.values(column)
                if attr == "phone" and not all(person_of(v) for v in values):
                    continue  # bare digits without a phone's header: ids, counts
                found[attr] = column
    return found


def _named_and_addressed(value: Any) -> bool:
    person = person_of(value)
    return person is not None and bool(person[0]) and bool(person[1] or person[2])


def _string_list(sample: Sample, taken: set[str]) -> str | None:
    """Find a JSON array of people written as strings (emails, ``Name <email>``)."""
    for column in sample.columns:
        if column in taken or "[" in column or words(column) not in _LIST_NAMES:
            continue
        values = sample.values(column)
        items = [i for v in values if isinstance(v, list) for i in v]
        every = bool(values and items) and all(isinstance(v, list) for v in values)
        if every and all(isinstance(i, str) for i in items) and share(items, is_addressed) >= 0.8:
            return column
    return None


def _list_column(sample: Sample, taken: set[str]) -> tuple[str, str] | None:
    """Find a cell of several people (``Name <email>; email``): its column and separator."""
    for column in sample.columns:
        if column in taken or words(column) not in _LIST_NAMES:
            continue
        values = sample.values(column)
        if not values or not all(isinstance(v, str) for v in values):
            continue
        if any(";" in v for v in values):
            return column, ";"
        if any("," in v for v in values) and all(
            all(is_email(p.strip()) or "<" in p for p in v.split(",") if p.strip()) for v in values
        ):
            return column, ","
        return column, ";"
    return None


def _cell_phones(sample: Sample, column: str) -> list[str]:
    found = (person_of(v) for v in sample.values(column))
    return [p[2] for p in found if p is not None and p[2]]


def _phones_of(sample: Sample, columns: Sequence[str]) -> list[str]:
    return [str(v) for c in columns for v in sample.values(c) if is_phone(v)]


def find_people(sample: Sample, export: Export | None) -> People:
    """Find the owner, a contact or list cell, and JSON participant lists of ``sample``."""
    people = People()
    owner_cell = _person_column(sample, _OWNER_ROLES, set())
    if (
        owner_cell is None
        and not _preferred(sample, export, "owner")
        and not _role_columns(sample, _OWNER_ROLES, set())[1]
    ):
        owner_cell = _person_column(sample, None, set())
    owner = _preferred(sample, export, "owner") if owner_cell is None else {}
    if not owner and owner_cell is None:
        _role, owner = _role_columns(sample, _OWNER_ROLES, set())
    if not owner and owner_cell is None:  # the calling side with an email is the user's
        _role, caller = _role_columns(sample, ("caller", "from", "sender"), set())
        owner = caller if "email" in caller else {}
    if owner_cell is not None:
        why = "the owner: cells such as Name (email), sent once with is_owner: true"
        people.lines.append(Line("owner", owner_cell, why))
        people.phones += _cell_phones(sample, owner_cell)
        owner = {"name": owner_cell}
    elif owner:
        why = "the owner: sent once, with is_owner: true"
        people.lines.append(Line("owner", _flow(owner), why))
        people.phones += _phones_of(sample, [owner[a] for a in ("phone",) if a in owner])
    taken = set(owner.values())
    joined = _string_list(sample, taken)
    contact_cell = _person_column(sample, _CONTACT_ROLES, taken)
    listed = _list_column(sample, taken) if joined is None else None
    contact = _preferred(sample, export, "contact")
    contact = {a: c for a, c in contact.items() if c not in taken}
    if not contact:
        _role, contact = _role_columns(sample, _CONTACT_ROLES, taken)
    if not contact and contact_cell is None and listed is None and joined is None:
        contact = _addresses(sample, taken)
    if joined is not None:
        why = f"each string of the array {joined} is a participant"
        people.lines.append(Line("list", joined, why))
    elif contact_cell is not None and listed is None:
        why = "the contact: cells such as Name (email)"
        people.lines.append(Line("list", contact_cell, why))
        people.phones += _cell_phones(sample, contact_cell)
        contact = {"name": contact_cell}
    elif listed is not None:
        column, separator = listed
        reason = "entries such as Name <email>; an entry repeating the owner is dropped"
        people.lines.append(Line("list", column, reason))
        if separator != ";":
            people.lines.append(Line("separator", separator, "the entries are separated by commas"))
        entries = [p.strip() for v in sample.values(column) for p in str(v).split(separator)]
        people.phones += [p for p in entries if is_phone(p)]
    elif contact:
        people.lines.append(_contact_line(sample, contact))
        people.phones += _phones_of(sample, [contact[a] for a in ("phone",) if a in contact])
    people.contact_name = contact.get("name")
    people.contact_label = contact.get("name") or contact.get("email") or contact.get("phone")
    items = _items(sample, export)
    if items is not None:
        path, keys = items
        form = {"path": path, **_flow(keys)}
        people.lines.append(Line("items", form, f"each object of {path} is a participant"))
        if "phone" in keys:
            people.phones += [
                str(phone)
                for value in sample.values(path)
                if isinstance(value, list)
                for item in value
                if isinstance(item, dict) and is_phone(phone := _leaves(item).get(keys["phone"]))
            ]
    return people


def _contact_line(sample: Sample, contact: dict[str, str]) -> Line:
    """Return the list entry of a contact described by several columns (a template)."""
    name = contact.get("name")
    address = contact.get("email") or contact.get("phone")
    if name is None or address is None or "{" in name + address or "}" in name + address:
        column = name or address or next(iter(contact.values()))
        return Line("list", column, "the contact: one entry a row")
    filled = all(row.get(name) or row.get(address) for row in sample.rows)
    reason = f"the contact, as Name <{'email' if 'email' in contact else 'phone'}>"
    if "email" in contact and "phone" in contact:
        reason += f" ({contact['phone']} left out: an entry holds one address)"
    if not filled:
        reason += "; some sampled rows have neither"
    return Line("list", f"{{{name}}} <{{{address}}}>", reason)
