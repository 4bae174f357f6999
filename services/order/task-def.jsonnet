// order: checkout and order history.
local shop = import 'shop.libsonnet';

shop.task(
  port=8080,
  environment={ PAYMENT_TIMEOUT_MS: 3000 },
  secrets={
    DATABASE_PASSWORD: '/shop/%s/order/database-password' % std.extVar('stack'),
    PAYMENT_API_KEY: '/shop/%s/order/payment-api-key' % std.extVar('stack'),
  },
)
