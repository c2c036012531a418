"""Retail tools, written from the tool schemas (``retail/tool_schemas.json``) and the retail wiki.

Each tool takes the episode database and the call's keyword arguments and returns a string (JSON for
records, ``"Error: ..."`` when the call is rejected; a rejected call changes nothing).
"""

from __future__ import annotations

import ast
import json
import operator

from support.agentc.taubench.env import tool

CANCEL_REASONS = ("no longer needed", "ordered by mistake")


def _err(msg: str) -> str:
    return f"Error: {msg}"


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _arith(node):
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _arith(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    raise ValueError("invalid syntax")


def calculate_expression(expression: str) -> str:
    """``calculate``: + - * / and parentheses only, result rounded to 2 decimals (shared by both domains)."""
    if not all(ch in "0123456789+-*/(). " for ch in expression):
        return _err("invalid characters in expression")
    try:
        return str(round(float(_arith(ast.parse(expression, mode="eval"))), 2))
    except Exception as e:  # noqa: BLE001 - syntax error, division by zero
        return _err(str(e))


@tool("retail")
def calculate(db, expression: str) -> str:
    return calculate_expression(expression)


@tool("retail")
def think(db, thought: str) -> str:
    return ""


@tool("retail")
def transfer_to_human_agents(db, summary: str) -> str:
    return "Transfer successful"


@tool("retail")
def find_user_id_by_email(db, email: str) -> str:
    for uid, u in db["users"].items():
        if u["email"].lower() == email.lower():
            return uid
    return _err("user not found")


@tool("retail")
def find_user_id_by_name_zip(db, first_name: str, last_name: str, zip: str) -> str:
    for uid, u in db["users"].items():
        if (u["name"]["first_name"].lower() == first_name.lower()
                and u["name"]["last_name"].lower() == last_name.lower() and u["address"]["zip"] == zip):
            return uid
    return _err("user not found")


@tool("retail")
def get_user_details(db, user_id: str) -> str:
    if user_id not in db["users"]:
        return _err("user not found")
    return json.dumps(db["users"][user_id])


@tool("retail")
def get_order_details(db, order_id: str) -> str:
    if order_id not in db["orders"]:
        return _err("order not found")
    return json.dumps(db["orders"][order_id])


@tool("retail")
def get_product_details(db, product_id: str) -> str:
    if product_id not in db["products"]:
        return _err("product not found")
    return json.dumps(db["products"][product_id])


@tool("retail")
def list_all_product_types(db) -> str:
    names = {p["name"]: p["product_id"] for p in db["products"].values()}
    return json.dumps(dict(sorted(names.items())))


def _pm(db, user_id, pm_id):
    return db["users"][user_id]["payment_methods"].get(pm_id)


@tool("retail")
def cancel_pending_order(db, order_id: str, reason: str) -> str:
    if order_id not in db["orders"]:
        return _err("order not found")
    order = db["orders"][order_id]
    if order["status"] != "pending":
        return _err("non-pending order cannot be cancelled")
    if reason not in CANCEL_REASONS:
        return _err("invalid reason")
    order = db["orders"].mut(order_id)
    refunds = []
    for pay in order["payment_history"]:
        pid = pay["payment_method_id"]
        refunds.append({"transaction_type": "refund", "amount": pay["amount"], "payment_method_id": pid})
        if "gift_card" in pid:  # gift cards are refunded at once
            pm = db["users"].mut(order["user_id"])["payment_methods"][pid]
            pm["balance"] = round(pm["balance"] + pay["amount"], 2)
    order["status"] = "cancelled"
    order["cancel_reason"] = reason
    order["payment_history"].extend(refunds)
    return json.dumps(order)


def _check_items(order, item_ids):
    have = [it["item_id"] for it in order["items"]]
    for iid in item_ids:
        if item_ids.count(iid) > have.count(iid):
            return _err(f"{iid} not found")
    return None


def _price_diff(db, order, item_ids, new_item_ids):
    diff = 0.0
    for iid, nid in zip(item_ids, new_item_ids):
        item = next(it for it in order["items"] if it["item_id"] == iid)
        variants = db["products"][item["product_id"]]["variants"]
        if not (nid in variants and variants[nid]["available"]):
            return None, _err(f"new item {nid} not found or available")
        diff += variants[nid]["price"] - item["price"]
    return round(diff, 2), None


def _check_item_swap(db, order_id: str, item_ids: list, new_item_ids: list, payment_method_id: str,
                     status: str, status_msg: str, balance_msg: str):
    """Checks shared by exchange (delivered) and modify (pending) item swaps: (diff, pm, error or None)."""
    if order_id not in db["orders"]:
        return None, None, _err("order not found")
    order = db["orders"][order_id]
    if order["status"] != status:
        return None, None, _err(status_msg)
    bad = _check_items(order, item_ids)
    if bad:
        return None, None, bad
    if len(item_ids) != len(new_item_ids):
        return None, None, _err("the number of items to be exchanged should match")
    diff, bad = _price_diff(db, order, item_ids, new_item_ids)
    if bad:
        return None, None, bad
    pm = _pm(db, order["user_id"], payment_method_id)
    if pm is None:
        return None, None, _err("payment method not found")
    if pm["source"] == "gift_card" and pm["balance"] < diff:
        return None, None, _err(balance_msg)
    return diff, pm, None


@tool("retail")
def exchange_delivered_order_items(db, order_id: str, item_ids: list, new_item_ids: list,
                                   payment_method_id: str) -> str:
    diff, _, bad = _check_item_swap(db, order_id, item_ids, new_item_ids, payment_method_id, "delivered",
                                    "non-delivered order cannot be exchanged",
                                    "insufficient gift card balance to pay for the price difference")
    if bad:
        return bad
    order = db["orders"].mut(order_id)
    order["status"] = "exchange requested"
    order["exchange_items"] = sorted(item_ids)
    order["exchange_new_items"] = sorted(new_item_ids)
    order["exchange_payment_method_id"] = payment_method_id
    order["exchange_price_difference"] = diff
    return json.dumps(order)


@tool("retail")
def modify_pending_order_address(db, order_id: str, address1: str, address2: str, city: str, state: str,
                                 country: str, zip: str) -> str:
    if order_id not in db["orders"]:
        return _err("order not found")
    if db["orders"][order_id]["status"] != "pending":
        return _err("non-pending order cannot be modified")
    order = db["orders"].mut(order_id)
    order["address"] = {"address1": address1, "address2": address2, "city": city, "state": state,
                        "country": country, "zip": zip}
    return json.dumps(order)


@tool("retail")
def modify_pending_order_items(db, order_id: str, item_ids: list, new_item_ids: list,
                               payment_method_id: str) -> str:
    diff, pm, bad = _check_item_swap(db, order_id, item_ids, new_item_ids, payment_method_id, "pending",
                                     "non-pending order cannot be modified",
                                     "insufficient gift card balance to pay for the new item")
    if bad:
        return bad
    order = db["orders"].mut(order_id)
    order["payment_history"].append({"transaction_type": "payment" if diff > 0 else "refund",
                                     "amount": abs(diff), "payment_method_id": payment_method_id})
    if pm["source"] == "gift_card":
        pm = db["users"].mut(order["user_id"])["payment_methods"][payment_method_id]
        pm["balance"] = round(pm["balance"] - diff, 2)
    for iid, nid in zip(item_ids, new_item_ids):
        item = next(it for it in order["items"] if it["item_id"] == iid)
        variant = db["products"][item["product_id"]]["variants"][nid]
        item["item_id"] = nid
        item["price"] = variant["price"]
        item["options"] = variant["options"]
    order["status"] = "pending (item modified)"
    return json.dumps(order)


@tool("retail")
def modify_pending_order_payment(db, order_id: str, payment_method_id: str) -> str:
    if order_id not in db["orders"]:
        return _err("order not found")
    order = db["orders"][order_id]
    if order["status"] != "pending":
        return _err("non-pending order cannot be modified")
    if _pm(db, order["user_id"], payment_method_id) is None:
        return _err("payment method not found")
    hist = order["payment_history"]
    if len(hist) > 1 or hist[0]["transaction_type"] != "payment":
        return _err("there should be exactly one payment for a pending order")
    if hist[0]["payment_method_id"] == payment_method_id:
        return _err("the new payment method should be different from the current one")
    amount = hist[0]["amount"]
    pm = _pm(db, order["user_id"], payment_method_id)
    if pm["source"] == "gift_card" and pm["balance"] < amount:
        return _err("insufficient gift card balance to pay for the order")
    order = db["orders"].mut(order_id)
    old_id = order["payment_history"][0]["payment_method_id"]
    order["payment_history"].extend([
        {"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id},
        {"transaction_type": "refund", "amount": amount, "payment_method_id": old_id}])
    user = db["users"].mut(order["user_id"])
    if pm["source"] == "gift_card":
        new = user["payment_methods"][payment_method_id]
        new["balance"] = round(new["balance"] - amount, 2)
    old = user["payment_methods"][old_id]
    if old["source"] == "gift_card":
        old["balance"] = round(old["balance"] + amount, 2)
    return json.dumps(order)


@tool("retail")
def modify_user_address(db, user_id: str, address1: str, address2: str, city: str, state: str, country: str,
                        zip: str) -> str:
    if user_id not in db["users"]:
        return _err("user not found")
    user = db["users"].mut(user_id)
    user["address"] = {"address1": address1, "address2": address2, "city": city, "state": state,
                       "country": country, "zip": zip}
    return json.dumps(user)


@tool("retail")
def return_delivered_order_items(db, order_id: str, item_ids: list, payment_method_id: str) -> str:
    if order_id not in db["orders"]:
        return _err("order not found")
    order = db["orders"][order_id]
    if order["status"] != "delivered":
        return _err("non-delivered order cannot be returned")
    if _pm(db, order["user_id"], payment_method_id) is None:
        return _err("payment method not found")
    if "gift_card" not in payment_method_id and payment_method_id != order["payment_history"][0]["payment_method_id"]:
        return _err("payment method should be either the original payment method or a gift card")
    bad = _check_items(order, item_ids)
    if bad:
        return bad
    order = db["orders"].mut(order_id)
    order["status"] = "return requested"
    order["return_items"] = sorted(item_ids)
    order["return_payment_method_id"] = payment_method_id
    return json.dumps(order)
