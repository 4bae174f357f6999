// The shape every service of the shop shares: an `app` container tuned for
// a large service, and a non-essential telemetry `sidecar`.
local base = import 'base.libsonnet';
local vars = std.extVar('vars');

local sidecar_cpu = 128;
local sidecar_memory = 256;

{
  // The task: the app gets what the sidecar leaves of the task's size, and
  // reserves half of its memory limit so that tasks pack densely while a
  // burst can still use the rest.
  task(port, environment={}, secrets={}):: base.base_task() {
    local app_cpu = std.parseInt(self.cpu) - sidecar_cpu,
    local app_memory = std.parseInt(self.memory) - sidecar_memory,
    containerDefinitions: [
      base.base_container('app', std.extVar('image')) {
        cpu: app_cpu,
        memory: app_memory,
        memoryReservation: std.floor(app_memory / 2),
        portMappings: [{ containerPort: port, protocol: 'tcp' }],
        ulimits: [base.nofile()],
        healthCheck: base.http_health_check(port),
        readonlyRootFilesystem: true,
        user: '10001',
        environment: base.environment({
          PORT: port,
          SERVICE: std.extVar('service'),
          STAGE: std.extVar('stack'),
        } + environment),
        secrets: base.secrets_from(secrets),
      },
      base.base_container('sidecar', vars.sidecarImage) {
        essential: false,
        cpu: sidecar_cpu,
        memory: sidecar_memory,
        memoryReservation: 128,
        readonlyRootFilesystem: true,
        user: '10001',
      },
    ],
  },

  service(port):: base.base_service(port=port),

  routing(priority, paths):: base.routing(priority, paths=paths),
}
