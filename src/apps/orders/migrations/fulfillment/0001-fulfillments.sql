-- The fulfillment service's record of what it fulfilled, one row per order however often order.placed arrives.
CREATE TABLE fulfillments (
  id uuid PRIMARY KEY,
  order_id uuid NOT NULL UNIQUE,
  customer_id text NOT NULL,
  item_count integer NOT NULL,
  fulfilled_at timestamptz NOT NULL DEFAULT now()
);
