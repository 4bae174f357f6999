// What ecs-fleet needs beyond ecspresso's files: the target groups' health
// check and the listener rule that routes to the service. CodeDeploy hooks
// may live here or in ecspresso.yml's appspec.Hooks, not both.
{
  targetGroup: {
    healthCheck: {
      path: '/',
      matcher: '200',
      interval: 15,
      timeout: 5,
    },
  },
  listenerRule: {
    priority: 100,
    pathPatterns: ['/*'],
  },
}
