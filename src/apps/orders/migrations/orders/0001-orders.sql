-- The order service's orders and their lines. An order is written with its lines and its order.placed event in one
-- transaction; its status turns to fulfilled when the order service consumes order.fulfilled.
CREATE TABLE orders (
  id uuid PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  customer_id text NOT NULL CONSTRAINT orders_customer_length CHECK (char_length(customer_id) BETWEEN 1 AND 100),
  status text NOT NULL DEFAULT 'placed' CONSTRAINT orders_status_known CHECK (status IN ('placed', 'fulfilled')),
  total_cents bigint NOT NULL CONSTRAINT orders_total_positive CHECK (total_cents >= 0),
  placed_at timestamptz NOT NULL DEFAULT now(),
  fulfillment_id uuid,
  fulfilled_at timestamptz
);

CREATE TABLE order_lines (
  order_id uuid NOT NULL REFERENCES orders (id),
  line integer NOT NULL,
  sku text NOT NULL,
  quantity integer NOT NULL,
  price_cents bigint NOT NULL,
  PRIMARY KEY (order_id, line)
);
