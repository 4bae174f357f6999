local shop = import 'shop.libsonnet';

shop.service(port=8080)
