local shop = import 'shop.libsonnet';

shop.routing(priority=20, paths=['/users', '/users/*'])
