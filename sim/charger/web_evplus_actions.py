"""What the Cabur EV PLUS web app's configuration pages change on the twin (003 §8.1.2
steps 4, 10, 11): the System parameter settings, the OCPP address and the RFID card
pairing. Pages and routing are web_evplus.py's; each function here returns why a
request was refused (the page prints it) or None.

Where 003 is silent the profile's notes give our reading (``web_client``
system_parameters, ocpp_address, rfid_cards; ``rfid``); the code follows them:

- the factory settings: Charger Power and Charging Mode as the unit is built, Max
  Current the rated current, RFID Type and CP Type the first choice;
- Max Current is accepted in whole amperes from ratings.min_current_a to
  max_current_a; only it acts on the twin (Charging.offered_current takes the minimum);
- the OCPP address is ``ws://`` or ``wss://`` host, path, CPID (the last path element
  is the charge point id); the twin reconnects with it at once;
- Read waits READ_WAIT_S for the card, in stand-by; the card then read is not used
  to charge (an EV plugged meanwhile ends the pairing: its card charges);
- pairing (Read, Write Card x) only in rfid.pairing_statuses; a slot holding another
  card is not overwritten, so with every slot taken a further card is refused; Delete
  Card x (our addition) empties a slot.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

MAX_CURRENT = "Max Current"  # the one setting that is a number, not a choice (step 4)
# How long after Read the reader waits for the card to pair (our choice: 003 gives no
# time; a person holds the card to it at once). A card after that is a card to charge.
READ_WAIT_S = 60.0


def system_parameters(twin: Any) -> dict[str, str]:
    """Each setting of the page (label → the choice printed; Max Current in A)."""
    entry = twin.profile.web_client["system_parameters"]
    factory = {label: options[0] for label, options in entry.choices.items()}
    factory.update(_as_built(twin, entry.choices))
    values = {**factory, **twin.nvm.system_parameters}
    rated = int(twin.profile.ratings["max_current_a"].value)
    values[MAX_CURRENT] = str(twin.nvm.max_current_a or rated)
    return {label: values[label] for label in entry.fields if label in values}


def _as_built(twin: Any, choices: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Charger Power and Charging Mode as the unit on the bench is built (003 §5: 7 kW
    one-phase or 22 kW three-phase; a socket is Case B, a fixed cable Case C)."""
    built = {}
    if "Charger Power" in choices:
        power = choices["Charger Power"]
        built["Charger Power"] = power[0] if twin.variant.phases == 1 else power[-1]
    if "Charging Mode" in choices:
        mode = choices["Charging Mode"]
        built["Charging Mode"] = mode[0] if twin.variant.connector == "socket" else mode[-1]
    return built


def set_system_parameters(twin: Any, form: dict[str, str]) -> str | None:
    """Apply: every setting in the form, or none when one is refused."""
    entry = twin.profile.web_client["system_parameters"]
    chosen: dict[str, str] = {}
    for label, options in entry.choices.items():
        value = form.get(label)
        if value is None:
            continue
        if value not in options:
            return f"{label}: choose {' or '.join(options)}"
        chosen[label] = value
    amps = None
    if form.get(MAX_CURRENT, "").strip():
        low = int(twin.profile.ratings["min_current_a"].value)
        high = int(twin.profile.ratings["max_current_a"].value)
        text = form[MAX_CURRENT].strip()
        if not text.isdigit() or not low <= int(text) <= high:
            return f"{MAX_CURRENT}: accepted range {low} - {high} A (got {text!r})"
        amps = int(text)
    twin.nvm.system_parameters.update(chosen)
    if amps is not None:
        twin.nvm.max_current_a = amps
    return None


def ocpp_address(twin: Any) -> str:
    """The address the charger connects to: server address + charge point id."""
    return ((twin.nvm.server_address or twin.csms_address())
            + (twin.nvm.uid or twin.charge_point_id))


def set_ocpp_address(twin: Any, address: str) -> str | None:
    """Confirm (003 §8.1.2 step 10): ws://host:80/…/CPID or wss://host:443/…/CPID."""
    address = address.strip()
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"OCPP Address {address!r}: not an address"
    cpid = parts.path.rsplit("/", 1)[-1]
    if parts.scheme not in ("ws", "wss") or not parts.hostname or not cpid \
            or parts.query or parts.fragment or any(c.isspace() for c in address):
        return (f"OCPP Address {address!r}: write ws://host:port/path/CPID or "
                "wss://host:port/path/CPID")
    twin.nvm.server_address = address[:len(address) - len(cpid)]
    twin.nvm.uid = cpid
    twin.reconnect()
    return None


# -- RFID (003 §8.1.2 step 11) ---------------------------------------------------------------
def _pairing_refused(twin: Any, fw: Any) -> str | None:
    allowed = twin.profile.rfid.pairing_statuses
    status = fw.connector_status()
    if status in allowed:
        return None
    return (f"card pairing only in stand-by ({' or '.join(allowed)}); "
            f"the charger is {status}")


def read_card(twin: Any, fw: Any) -> str | None:
    """Read: the reader waits for the card to pair (its number then shows in Read RFID)."""
    refused = _pairing_refused(twin, fw)
    if refused is None:
        fw.last_card = None
        fw.reading_until = fw.now() + READ_WAIT_S
    return refused


def cards(twin: Any) -> list[str | None]:
    """The slots Card No. 1 … rfid.max_cards (None: empty)."""
    slots = list(twin.nvm.rfid_cards)
    count = twin.profile.rfid.max_cards
    return (slots + [None] * count)[:count]


def write_card(twin: Any, fw: Any, slot_text: str) -> str | None:
    """Write Card x: the card read into slot x."""
    slots = cards(twin)
    if not slot_text.isdigit() or not 1 <= int(slot_text) <= len(slots):
        return f"no Card No. {slot_text} (at most {len(slots)} cards)"
    refused = _pairing_refused(twin, fw)
    if refused is not None:
        return refused
    card, slot = fw.last_card, int(slot_text) - 1
    if not card:
        return "no card read: press Read, then hold the card to the reader"
    if card in slots and slots.index(card) != slot:
        return f"card {card} is Card No. {slots.index(card) + 1} already"
    if slots[slot] not in (None, card):
        if all(slots):
            return (f"at most {len(slots)} cards: every slot is taken "
                    f"(delete a card first)")
        return f"Card No. {slot + 1} holds another card (delete it first)"
    slots[slot] = card
    twin.nvm.rfid_cards = slots
    return None


def delete_card(twin: Any, slot_text: str) -> str | None:
    """Delete Card x (our addition: 003 shows no way to remove a card)."""
    slots = cards(twin)
    if not slot_text.isdigit() or not 1 <= int(slot_text) <= len(slots):
        return f"no Card No. {slot_text}"
    slots[int(slot_text) - 1] = None
    twin.nvm.rfid_cards = slots
    return None
