"""Authorization feature: a card at the reader, the authorization cache and the local
list (OCPP 1.6 §3.5, Local Auth List Management), and RemoteStartTransaction."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from evrig.sim.charger.fw_base import Authorization, FirmwareBase, Reply
from evrig.sim.charger.ocpp_link import Payload


class Authorizing(FirmwareBase):
    ANSWERS: ClassVar[dict[str, str]] = {
        "ClearCache": "on_clear_cache",
        "GetLocalListVersion": "on_get_local_list_version",
        "SendLocalList": "on_send_local_list",
        "RemoteStartTransaction": "on_remote_start",
    }

    def present_tag(self, id_tag: str) -> None:
        """A card held to the reader (service console ``tag`` on the twin)."""
        asyncio.get_running_loop().create_task(self._present_tag(id_tag))

    async def _present_tag(self, id_tag: str) -> None:
        if self.reading_until is not None and self.now() <= self.reading_until \
                and self.profile.rfid is not None \
                and self.connector_status() in self.profile.rfid.pairing_statuses:
            # EV PLUS RFID page → Read (003 §8.1.2 step 11): in stand-by the reader
            # reads the card to be paired (its corners dark), not to charge.
            self.reading_until = None
            self.last_card = id_tag  # the web app's Read RFID shows it
            return
        if self.learning:
            # NFC Configuration → ADD NEW (000 §2.5.1): the card tapped in Learn mode
            # is memorized, not used to charge.
            self.learning = False
            self.nvm.web_cards[id_tag] = self.utc().date().isoformat()
            return
        rules = self.profile.rfid
        if rules is not None and rules.reader_lit_statuses \
                and self.connector_status() not in rules.reader_lit_statuses:
            return  # EV PLUS 003 §9: the reader reads a card only while lit (EV connected)
        self.last_card = id_tag  # read: the EV PLUS web app's Read RFID shows the last one
        tx = self.tx
        if tx is not None:
            if id_tag == tx.id_tag:
                self.stop_transaction("Local")
                return
            if rules is not None and rules.stop_by_same_card:
                return  # 003 §9: only the card that started it stops it (profile rfid)
            info = await self.authorize(id_tag)
            if (info and info.get("status") == "Accepted" and tx.parent_id_tag
                    and info.get("parentIdTag") == tx.parent_id_tag):
                tx.stop_id_tag = id_tag  # OCPP 1.6 §6.49: idTag = the identifier that stopped it
                self.stop_transaction("Local")
            return
        if self.faulted or self._inoperative():
            return
        info = await self.authorize(id_tag)
        if info is None or info.get("status") != "Accepted":
            return
        res = self.reservation
        if res is not None and id_tag != res.id_tag and not (
            res.parent_id_tag and info.get("parentIdTag") == res.parent_id_tag
        ):
            return  # the connector is reserved for someone else
        self.authorization = Authorization(
            id_tag, info.get("parentIdTag"), self.now() + self.config.int("ConnectionTimeOut", 90)
        )
        self.kick()

    async def authorize(self, id_tag: str) -> dict[str, Any] | None:
        """IdTagInfo for a tag: local list / cache first when allowed, else the backend."""
        cfg = self.config
        use_list = cfg.bool("LocalAuthListEnabled")
        use_cache = cfg.bool("AuthorizationCacheEnabled", True)
        local = self.nvm.auth.lookup(id_tag, self.utc(), use_list, use_cache)
        if self.link.online and self.boot_status == "Accepted":
            if local is not None and local.get("status") == "Accepted" and cfg.bool(
                "LocalPreAuthorize"
            ):
                return local
            result = await self.link.request("Authorize", {"idTag": id_tag})
            if result is not None:
                info = result["idTagInfo"]
                if use_cache:
                    self.nvm.auth.remember(id_tag, info)
                return info
        # Offline (§3.5.3). A card memorized through the web client's NFC Configuration
        # is accepted offline (our reading: the charger's own card list, 000 §2.5.1);
        # so is a card paired in the EV PLUS web app (003 §8.1.2 step 11).
        if id_tag in self.nvm.web_cards or id_tag in self.nvm.rfid_cards \
                or self.defect("evplus_offline_accepts_unpaired_card"):
            return {"status": "Accepted"}
        if local is not None and cfg.bool("LocalAuthorizeOffline", True):
            return local
        if local is None and cfg.bool("AllowOfflineTxForUnknownId"):
            return {"status": "Accepted"}
        return local or {"status": "Invalid"}

    def _authorization_timeout(self, now: float) -> None:
        auth = self.authorization
        if auth is not None and self.tx is None and not self.plugged and now >= auth.deadline \
                and not self.defect("connection_timeout_ignored"):
            self.authorization = None  # ConnectionTimeOut: the driver never plugged in

    # -- answers ----------------------------------------------------------------------
    def on_clear_cache(self, p: Payload) -> Reply:
        if not self.config.bool("AuthorizationCacheEnabled", True):
            return {"status": "Rejected"}, None
        self.nvm.auth.cache.clear()
        return {"status": "Accepted"}, None

    def on_get_local_list_version(self, p: Payload) -> Reply:
        if not self.config.bool("LocalAuthListEnabled"):
            return {"listVersion": -1}, None
        return {"listVersion": self.nvm.auth.list_version}, None

    def on_send_local_list(self, p: Payload) -> Reply:
        if not self.config.bool("LocalAuthListEnabled"):
            return {"status": "NotSupported"}, None
        entries = p.get("localAuthorizationList", [])
        if len(entries) > self.config.int("SendLocalListMaxLength", 0):
            return {"status": "Failed"}, None
        status = self.nvm.auth.send_local_list(
            p["listVersion"], p["updateType"], entries, self.config.int("LocalAuthListMaxLength", 0)
        )
        return {"status": status}, None

    def on_remote_start(self, p: Payload) -> Reply:
        cid = p.get("connectorId", 1)
        profile = p.get("chargingProfile")
        if (cid != 1 or self.tx is not None or self.faulted or self._inoperative()
                or (profile is not None and profile["chargingProfilePurpose"] != "TxProfile")):
            return {"status": "Rejected"}, None
        id_tag = p["idTag"]
        res = self.reservation
        # OCPP 1.6 §5.13: another idTag may use the reservation if its parentIdTag matches.
        by_parent = res is not None and id_tag != res.id_tag
        required_parent = res.parent_id_tag if res is not None else None
        if by_parent and not required_parent:
            return {"status": "Rejected"}, None

        async def start() -> None:
            parent = None
            if self.config.bool("AuthorizeRemoteTxRequests") or by_parent:
                info = await self.authorize(id_tag)
                if not info or info.get("status") != "Accepted":
                    return
                parent = info.get("parentIdTag")
                if by_parent and parent != required_parent:
                    return  # §5.13: reserved for another group
            self.authorization = Authorization(
                id_tag, parent, self.now() + self.config.int("ConnectionTimeOut", 90), remote=True,
                charging_profile=profile,
            )
            self.kick()

        return {"status": "Accepted"}, self.spawn(start())
