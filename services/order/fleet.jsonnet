local shop = import 'shop.libsonnet';

shop.routing(priority=40, paths=['/orders', '/orders/*']) {
  // Checkout is the path that loses money when broken: a smoke test runs
  // against the green tasks on the test listener before any user sees them.
  hooks: {
    AfterAllowTestTraffic: 'shop-%s-order-smoke-test' % std.extVar('stack'),
  },
}
