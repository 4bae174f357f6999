local shop = import 'shop.libsonnet';

shop.routing(priority=30, paths=['/products', '/products/*'])
