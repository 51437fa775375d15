// The orders page: place an order and watch it turn fulfilled. It polls the API once a second; the events
// themselves are Avro, which the WebSocket gateway does not decode.

export const ORDERS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Orders · Sluice</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; }
label { display: flex; flex-direction: column; font-size: .85rem; }
table { width: 100%; border-collapse: collapse; margin-top: 1.5rem; }
td, th { text-align: left; padding: .3rem; border-bottom: 1px solid #ddd; }
.placed { color: #a60; } .fulfilled { color: #080; }
#error { color: #b00; }
</style>
</head>
<body>
<h1>Orders</h1>
<form id="order-form">
  <label>Customer <input name="customerId" value="customer-1" required></label>
  <label>SKU <input name="sku" value="book" required></label>
  <label>Quantity <input name="quantity" type="number" value="1" min="0"></label>
  <label>Price (cents) <input name="priceCents" type="number" value="1500" min="0"></label>
  <button type="submit">Place order</button>
</form>
<p id="error" role="alert"></p>
<table><thead><tr><th>Order</th><th>Customer</th><th>Total</th><th>Status</th></tr></thead><tbody id="orders"></tbody></table>
<script>
const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const form = document.getElementById("order-form");
const rows = document.getElementById("orders");
const error = document.getElementById("error");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const body = { customerId: data.get("customerId"), items: [{ sku: data.get("sku"),
    quantity: Number(data.get("quantity")), priceCents: Number(data.get("priceCents")) }] };
  const response = await fetch(base + "api/orders", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify(body) });
  const answer = await response.json();
  error.textContent = response.ok ? "" : answer.message;
  refresh();
});
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}
async function refresh() {
  const response = await fetch(base + "api/orders");
  if (!response.ok) return;
  const { orders } = await response.json();
  rows.replaceChildren(...orders.map((order) => {
    const tr = document.createElement("tr");
    tr.dataset.id = order.id;
    const status = order.status === "fulfilled" ? "fulfilled " + new Date(order.fulfilledAt).toLocaleTimeString() : "placed";
    tr.append(cell(order.id.slice(0, 8)), cell(order.customerId), cell((order.totalCents / 100).toFixed(2)),
      cell(status, order.status));
    return tr;
  }));
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
