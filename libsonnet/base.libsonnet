// Building blocks for the task and service definitions of any service.
//
// Everything here renders to the ECS API's own camelCase shape, the JSON that
// `aws ecs register-task-definition` and `aws ecs create-service` take.
// Values that differ between environments come from the stack config through
// std.extVar('vars'); see the README for the full list of external variables.
local stack = std.extVar('stack');
local service = std.extVar('service');
local region = std.extVar('region');
local vars = std.extVar('vars');

{
  // The log group every container of a service writes to.
  log_group(name=service):: '/ecs/%s/%s' % [stack, name],

  // A Fargate task in awsvpc mode. The execution role pulls images and
  // reads `secrets`; the task role is what the application itself may do,
  // and is kept separate so that the app cannot read other services' secrets.
  base_task(name=service, cpu=vars.cpu, memory=vars.memory):: {
    family: '%s-%s' % [stack, name],
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: std.toString(cpu),
    memory: std.toString(memory),
    executionRoleArn: vars.executionRoleArn,
    [if std.objectHas(vars, 'taskRoleArn') then 'taskRoleArn']: vars.taskRoleArn,
    runtimePlatform: {
      operatingSystemFamily: 'LINUX',
      cpuArchitecture: std.get(vars, 'cpuArchitecture', 'X86_64'),
    },
    containerDefinitions: [],
  },

  // An essential container that logs to CloudWatch Logs.
  base_container(name, image, log_group=$.log_group()):: {
    name: name,
    image: image,
    essential: true,
    logConfiguration: {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': log_group,
        'awslogs-region': region,
        'awslogs-stream-prefix': name,
      },
    },
  },

  // A busy service runs out of file descriptors long before CPU: Fargate's
  // default soft limit is 1024.
  nofile(limit=65536):: { name: 'nofile', softLimit: limit, hardLimit: limit },

  // A container health check that ECS runs inside the task.
  http_health_check(port, path='/healthz'):: {
    command: ['CMD-SHELL', 'curl -fsS http://localhost:%d%s || exit 1' % [port, path]],
    interval: 30,
    timeout: 5,
    retries: 3,
    startPeriod: 60,
  },

  // Plain environment variables from an object, in a stable order.
  // Secrets never go here: use `secrets_from` with SSM or Secrets Manager.
  environment(values):: [
    { name: k, value: std.toString(values[k]) }
    for k in std.objectFields(values)
  ],

  // Task secrets from SSM Parameter Store: NAME -> parameter path.
  secrets_from(parameters, account=vars.accountId):: [
    {
      name: k,
      valueFrom: 'arn:aws:ssm:%s:%s:parameter%s' % [region, account, parameters[k]],
    }
    for k in std.objectFields(parameters)
  ],

  // A service behind the load balancer, deployed blue/green by CodeDeploy.
  // The subnets and security groups come from the stack config.
  base_service(container='app', port=8080, grace=60):: {
    launchType: 'FARGATE',
    platformVersion: '1.4.0',
    deploymentController: { type: 'CODE_DEPLOY' },
    loadBalancers: [{ containerName: container, containerPort: port }],
    healthCheckGracePeriodSeconds: grace,
    enableECSManagedTags: true,
    propagateTags: 'SERVICE',
  },

  // ecs-fleet's own settings for a service: its target groups' health
  // check and its listener rule.
  routing(priority, paths=[], hosts=[], health_path='/healthz'):: {
    targetGroup: {
      healthCheck: {
        path: health_path,
        matcher: '200',
        interval: 15,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
      deregistrationDelay: 30,
    },
    listenerRule: {
      priority: priority,
      [if paths != [] then 'pathPatterns']: paths,
      [if hosts != [] then 'hostHeaders']: hosts,
    },
  },
}
