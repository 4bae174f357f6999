local shop = import 'shop.libsonnet';

shop.routing(priority=10, paths=['/auth', '/auth/*'])
