"""A downstream application's jobs module (the pytester tests install it as `shop/jobs.py`)."""

from concurrent.futures import ThreadPoolExecutor

import jobkit

kit = jobkit.connect("memory://")  # production would read its URL from the environment


@kit.handler("email.send", queue="mail", max_retries=3)
def send_email(args):
    if args.get("bounce"):
        raise ConnectionError("mail provider unavailable")
    return {"sent_to": args["to"]}


@kit.handler("invoice.render", priority="low")
def render_invoice(args):
    return {"pages": len(args["lines"])}


def place_order(order_id, email, lines):
    """What the shop does on checkout: mail the customer and render the invoice — the
    invoice from a worker thread, as real code often does."""
    kit.enqueue("email.send", {"to": email, "template": "order", "order": order_id})
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(kit.enqueue, "invoice.render", {"order": order_id, "lines": lines}).result()
