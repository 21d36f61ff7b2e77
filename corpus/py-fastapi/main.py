"""Inventory API: FastAPI + pydantic, served by uvicorn."""
import json
import threading
import time
import urllib.request

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI(title="inventory", version="0.9.0")


class Item(BaseModel):
    sku: str = Field(min_length=3, max_length=32)
    name: str
    quantity: int = Field(ge=0)
    price_cents: int = Field(ge=0)


ITEMS: dict[str, Item] = {}


@app.get("/health")
def health():
    return {"status": "ok", "items": len(ITEMS)}


@app.put("/items/{sku}", status_code=201)
def put_item(sku: str, item: Item):
    if sku != item.sku:
        raise HTTPException(status_code=400, detail="sku mismatch")
    ITEMS[sku] = item
    return item


@app.get("/items/{sku}")
def get_item(sku: str):
    if sku not in ITEMS:
        raise HTTPException(status_code=404, detail="unknown sku")
    return ITEMS[sku]


@app.get("/stock-value")
def stock_value():
    return {"cents": sum(i.quantity * i.price_cents for i in ITEMS.values())}


def selftest(port=18765):
    """Serve on a local port in a thread, do two requests, stop."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    body = json.dumps({"sku": "ABC-1", "name": "widget", "quantity": 3, "price_cents": 250}).encode()
    req = urllib.request.Request(f"{base}/items/ABC-1", data=body, method="PUT",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        created = resp.status
    with urllib.request.urlopen(f"{base}/stock-value") as resp:
        value = json.load(resp)
    server.should_exit = True
    thread.join(5)
    return f"selftest: PUT {created}, stock value {value['cents']} cents"


if __name__ == "__main__":
    print(selftest())
