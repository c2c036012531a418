"""Airline tools, written from the tool schemas (``airline/tool_schemas.json``) and the airline wiki.

As in tau-bench, the tools check only what an API would (existence, seats, balances, amounts); the
policy rules the wiki says "the API does not check" are left to the agent (and to the monitor).
"""

from __future__ import annotations

import copy
import functools
import json

from support.agentc.taubench.env import tool
from support.agentc.taubench.retail import calculate_expression

NOW = "2024-05-15T15:00:00"  # the wiki fixes the current time
_NEW_RESERVATION_IDS = ("HATHAT", "HATHAU", "HATHAV")
_NEW_CERTIFICATE_IDS = (3221322, 3221323, 3221324)


def _err(msg: str) -> str:
    return f"Error: {msg}"


@tool("airline")
def calculate(db, expression: str) -> str:
    return calculate_expression(expression)


@tool("airline")
def think(db, thought: str) -> str:
    return ""


@tool("airline")
def transfer_to_human_agents(db, summary: str) -> str:
    return "Transfer successful"


@functools.lru_cache(maxsize=1)
def airports() -> dict[str, str]:
    """IATA code -> city. The list is the one the recorded GPT-4o runs received from this tool; codes
    not in it (none expected) fall back to the code itself."""
    from support.agentc.taubench.data import airline_trajectories_raw, base_db

    table: dict[str, str] = {}
    for run in airline_trajectories_raw():
        for m in run["traj"]:
            if m.get("role") == "tool" and m.get("name") == "list_all_airports":
                table = json.loads(m["content"])
                break
        if table:
            break
    for f in base_db("airline")["flights"].values():
        for code in (f["origin"], f["destination"]):
            table.setdefault(code, code)
    return table


@tool("airline")
def list_all_airports(db) -> str:
    return json.dumps(airports())


@tool("airline")
def get_user_details(db, user_id: str) -> str:
    if user_id not in db["users"]:
        return _err("user not found")
    return json.dumps(db["users"][user_id])


@tool("airline")
def get_reservation_details(db, reservation_id: str) -> str:
    if reservation_id not in db["reservations"]:
        return _err("reservation not found")
    return json.dumps(db["reservations"][reservation_id])


def _flight_on(flight: dict, date: str) -> dict:
    out = {k: v for k, v in flight.items() if k != "dates"}
    out.update(flight["dates"][date])
    return out


@tool("airline")
def search_direct_flight(db, origin: str, destination: str, date: str) -> str:
    res = []
    for f in db["flights"].values():
        if f["origin"] == origin and f["destination"] == destination and date in f["dates"] \
                and f["dates"][date]["status"] == "available":
            res.append(_flight_on(f, date))
    return json.dumps(res)


@tool("airline")
def search_onestop_flight(db, origin: str, destination: str, date: str) -> str:
    res = []
    flights = list(db["flights"].values())
    for f1 in flights:
        if f1["origin"] != origin:
            continue
        for f2 in flights:
            if f2["destination"] != destination or f1["destination"] != f2["origin"]:
                continue
            date2 = f"2024-05-{int(date[-2:]) + 1}" if "+1" in f1["scheduled_arrival_time_est"] else date
            if f1["scheduled_arrival_time_est"] > f2["scheduled_departure_time_est"]:
                continue
            if date in f1["dates"] and date2 in f2["dates"] and f1["dates"][date]["status"] == "available" \
                    and f2["dates"][date2]["status"] == "available":
                # The second leg shows the seats/prices of the *first* leg's date (what the recorded runs
                # received from tau-bench's tool; status and date are those of date2).
                r1, r2 = _flight_on(f1, date), _flight_on(f2, date if date in f2["dates"] else date2)
                r1["date"], r2["date"] = date, date2
                res.append([r1, r2])
    return json.dumps(res)


def _price_segment(db, flight: dict, cabin: str, n_passengers: int) -> str | None:
    """Fill price/origin/destination of a requested segment; an error string when it cannot be booked."""
    num = flight["flight_number"]
    if num not in db["flights"]:
        return _err(f"flight {num} not found")
    fd = db["flights"][num]
    if flight["date"] not in fd["dates"]:
        return _err(f"flight {num} not found on date {flight['date']}")
    day = fd["dates"][flight["date"]]
    if day["status"] != "available":
        return _err(f"flight {num} not available on date {flight['date']}")
    if day["available_seats"][cabin] < n_passengers:
        return _err(f"not enough seats on flight {num}")
    flight["price"] = day["prices"][cabin]
    flight["origin"] = fd["origin"]
    flight["destination"] = fd["destination"]
    return None


@tool("airline")
def book_reservation(db, user_id: str, origin: str, destination: str, flight_type: str, cabin: str,
                     flights: list, passengers: list, payment_methods: list, total_baggages: int,
                     nonfree_baggages: int, insurance: str) -> str:
    if user_id not in db["users"]:
        return _err("user not found")
    user = db["users"][user_id]
    rid = next((r for r in _NEW_RESERVATION_IDS if r not in db["reservations"]), _NEW_RESERVATION_IDS[-1])
    res = {"reservation_id": rid, "user_id": user_id, "origin": origin, "destination": destination,
           "flight_type": flight_type, "cabin": cabin, "flights": copy.deepcopy(flights),
           "passengers": copy.deepcopy(passengers), "payment_history": copy.deepcopy(payment_methods),
           "created_at": NOW, "total_baggages": total_baggages, "nonfree_baggages": nonfree_baggages,
           "insurance": insurance}
    total = 0
    for f in res["flights"]:
        bad = _price_segment(db, f, cabin, len(passengers))
        if bad:
            return bad
        total += f["price"] * len(passengers)
    if insurance == "yes":
        total += 30 * len(passengers)
    total += 50 * nonfree_baggages
    for pm in payment_methods:
        pid, amount = pm["payment_id"], pm["amount"]
        if pid not in user["payment_methods"]:
            return _err(f"payment method {pid} not found")
        src = user["payment_methods"][pid]
        if src["source"] in ("gift_card", "certificate") and src["amount"] < amount:
            return _err(f"not enough balance in payment method {pid}")
    paid = sum(pm["amount"] for pm in payment_methods)
    if paid != total:
        return _err(f"payment amount does not add up, total price is {total}, but paid {paid}")
    user = db["users"].mut(user_id)
    for pm in payment_methods:
        pid, amount = pm["payment_id"], pm["amount"]
        src = user["payment_methods"][pid]
        if src["source"] == "gift_card":
            src["amount"] -= amount
        elif src["source"] == "certificate":
            del user["payment_methods"][pid]
    db["reservations"].put(rid, res)
    user["reservations"].append(rid)
    return json.dumps(res)


@tool("airline")
def cancel_reservation(db, reservation_id: str) -> str:
    if reservation_id not in db["reservations"]:
        return _err("reservation not found")
    res = db["reservations"].mut(reservation_id)
    refunds = [{"payment_id": p["payment_id"], "amount": -p["amount"]} for p in res["payment_history"]]
    res["payment_history"].extend(refunds)
    res["status"] = "cancelled"
    return json.dumps(res)


def _payment(db, res: dict, payment_id: str, total: float):
    methods = db["users"][res["user_id"]]["payment_methods"]
    if payment_id not in methods:
        return None, _err("payment method not found")
    pm = methods[payment_id]
    if pm["source"] == "certificate":
        return None, _err("certificate cannot be used to update reservation")
    if pm["source"] == "gift_card" and pm["amount"] < total:
        return None, _err("gift card balance is not enough")
    return pm, None


@tool("airline")
def update_reservation_baggages(db, reservation_id: str, total_baggages: int, nonfree_baggages: int,
                                payment_id: str) -> str:
    if reservation_id not in db["reservations"]:
        return _err("reservation not found")
    res = db["reservations"][reservation_id]
    total = 50 * max(0, nonfree_baggages - res["nonfree_baggages"])
    pm, bad = _payment(db, res, payment_id, total)
    if bad:
        return bad
    res = db["reservations"].mut(reservation_id)
    res["total_baggages"] = total_baggages
    res["nonfree_baggages"] = nonfree_baggages
    if pm["source"] == "gift_card":
        db["users"].mut(res["user_id"])["payment_methods"][payment_id]["amount"] -= total
    if total != 0:
        res["payment_history"].append({"payment_id": payment_id, "amount": total})
    return json.dumps(res)


@tool("airline")
def update_reservation_flights(db, reservation_id: str, cabin: str, flights: list, payment_id: str) -> str:
    if reservation_id not in db["reservations"]:
        return _err("reservation not found")
    res = db["reservations"][reservation_id]
    n = len(res["passengers"])
    flights = copy.deepcopy(flights)
    total = 0
    for f in flights:
        kept = [g for g in res["flights"] if g["flight_number"] == f["flight_number"] and g["date"] == f["date"]
                and cabin == res["cabin"]]
        if kept:  # an unchanged segment keeps its price
            total += kept[0]["price"] * n
            f["price"], f["origin"], f["destination"] = kept[0]["price"], kept[0]["origin"], kept[0]["destination"]
            continue
        bad = _price_segment(db, f, cabin, n)
        if bad:
            return bad
        total += f["price"] * n
    total -= sum(g["price"] for g in res["flights"]) * n
    pm, bad = _payment(db, res, payment_id, total)
    if bad:
        return bad
    res = db["reservations"].mut(reservation_id)
    if pm["source"] == "gift_card":
        db["users"].mut(res["user_id"])["payment_methods"][payment_id]["amount"] -= total
    res["flights"] = flights
    if total != 0:
        res["payment_history"].append({"payment_id": payment_id, "amount": total})
    return json.dumps(res)


@tool("airline")
def update_reservation_passengers(db, reservation_id: str, passengers: list) -> str:
    if reservation_id not in db["reservations"]:
        return _err("reservation not found")
    if len(passengers) != len(db["reservations"][reservation_id]["passengers"]):
        return _err("number of passengers does not match")
    res = db["reservations"].mut(reservation_id)
    res["passengers"] = copy.deepcopy(passengers)
    return json.dumps(res)


@tool("airline")
def send_certificate(db, user_id: str, amount: float) -> str:
    if user_id not in db["users"]:
        return _err("user not found")
    user = db["users"].mut(user_id)
    for n in _NEW_CERTIFICATE_IDS:
        pid = f"certificate_{n}"
        if pid not in user["payment_methods"]:
            user["payment_methods"][pid] = {"source": "certificate", "amount": amount, "id": pid}
            return f"Certificate {pid} added to user {user_id} with amount {amount}."
    return _err("too many certificates")
