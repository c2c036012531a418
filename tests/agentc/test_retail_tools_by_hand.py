"""Independent check of the retail tools: the database records after a task's gold actions, written by
hand from the task data, the order/user records in the mirrored db and tau-bench's documented tool
semantics (cancel: status 'cancelled', reason, one refund per payment; return/exchange: status
'... requested' with the items and payment method; modify: new values, price difference paid or
refunded). Nothing here is computed by our tools."""

import copy

import pytest

from support.agentc.taubench.data import tasks
from support.agentc.taubench.env import Env

FATIMA_PAYPAL = "paypal_5364164"


def _after_gold(index: int) -> Env:
    task = tasks("retail", "test")[index]
    env = Env("retail", task)
    for a in task["actions"]:
        out = env.call(a["name"], copy.deepcopy(a["kwargs"]))
        assert not str(out).startswith("Error"), (a, out)
    return env


def _order(env: Env, oid: str) -> dict:
    return env.db["orders"][oid]


def test_cancel_twice_and_return_task_16_by_hand():
    env = _after_gold(16)
    # #W5199551: one PayPal payment of 3131.10 -> cancelled, refunded in full to the same PayPal account
    o = _order(env, "#W5199551")
    assert o["status"] == "cancelled" and o["cancel_reason"] == "no longer needed"
    assert o["payment_history"] == [
        {"transaction_type": "payment", "amount": 3131.1, "payment_method_id": FATIMA_PAYPAL},
        {"transaction_type": "refund", "amount": 3131.1, "payment_method_id": FATIMA_PAYPAL}]
    o = _order(env, "#W8665881")
    assert o["status"] == "cancelled" and o["cancel_reason"] == "no longer needed"
    assert o["payment_history"][-1] == {"transaction_type": "refund", "amount": 4777.75,
                                        "payment_method_id": FATIMA_PAYPAL}
    # #W9389413 (delivered): a return request for item 2554056026 to PayPal; no money moves yet
    o = _order(env, "#W9389413")
    assert o["status"] == "return requested"
    assert o["return_items"] == ["2554056026"] and o["return_payment_method_id"] == FATIMA_PAYPAL
    assert o["payment_history"] == [{"transaction_type": "payment", "amount": 918.95,
                                     "payment_method_id": FATIMA_PAYPAL}]


def test_exchange_task_1_by_hand():
    env = _after_gold(1)
    o = _order(env, "#W2378156")
    assert o["status"] == "exchange requested"
    assert o["exchange_items"] == ["4983901480"] and o["exchange_new_items"] == ["7747408585"]
    assert o["exchange_payment_method_id"] == "credit_card_9513926"
    assert o["exchange_price_difference"] == pytest.approx(249.01 - 262.47)  # new variant minus old


def test_modify_items_task_15_by_hand():
    env = _after_gold(15)
    o = _order(env, "#W5199551")
    assert o["status"] == "pending (item modified)"
    new = next(i for i in o["items"] if i["product_id"] == "7363354090")
    assert new["item_id"] == "3613716226" and new["price"] == 253.54
    assert new["options"] == {"size": "8", "material": "synthetic", "waterproof": "no"}
    assert "1615379700" not in [i["item_id"] for i in o["items"]] and len(o["items"]) == 5
    assert o["payment_history"][-1]["transaction_type"] == "refund"  # 253.54 < 253.89: 0.35 back
    assert o["payment_history"][-1]["amount"] == pytest.approx(0.35)
    assert o["payment_history"][-1]["payment_method_id"] == FATIMA_PAYPAL


def test_addresses_tasks_17_and_22_by_hand():
    o = _order(_after_gold(17), "#W8665881")
    assert o["address"] == {"address1": "123 Elm Street", "address2": "Suite 641", "city": "Austin",
                            "state": "TX", "country": "USA", "zip": "78712"}
    env = _after_gold(22)
    assert _order(env, "#W9911714")["address"] == {"address1": "101 Highway", "address2": "", "city": "New York",
                                                   "state": "NY", "country": "USA", "zip": "10001"}
    # the user's address was changed to New York and then back to the original Denver one
    assert env.db["users"]["ethan_garcia_1261"]["address"] == {
        "address1": "667 Highland Drive", "address2": "Suite 865", "city": "Denver", "state": "CO",
        "country": "USA", "zip": "80280"}
