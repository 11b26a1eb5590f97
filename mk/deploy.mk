# Deployment: compose (make up/down), kind (make kind-test), GKE (make gke-deploy), and the
# offline checks of all three (make deploy-validate, part of make test).
# Every kustomize build uses --load-restrictor LoadRestrictionsNone: the overlays read
# prometheus/, grafana/ and locust/ files outside their own folders.

# Go tools, pinned; scripts/lib/go-tool.sh installs each unless the binary was built from that version.
KUSTOMIZE_VERSION := v5.7.1
KUBE_SCORE_VERSION := v1.20.0
KUSTOMIZE := $(ROOT)/.tools/bin/kustomize
KUBE_SCORE := $(ROOT)/.tools/bin/kube-score
KUSTOMIZE_BUILD := $(KUSTOMIZE) build --load-restrictor LoadRestrictionsNone
GO_TOOL := bash $(ROOT)/scripts/lib/go-tool.sh $(ROOT)/.tools/bin
# Each deployment target first checks what it needs and says everything missing at once.
PREFLIGHT := bash $(ROOT)/scripts/lib/preflight.sh
COMPOSE := docker compose --project-directory $(ROOT) -f $(ROOT)/compose.yaml

# GKE: images go to $(REGION)-docker.pkg.dev/$(PROJECT)/$(REPO)/<service>:$(IMAGE_TAG); the cluster
# is $(CLUSTER) in $(CLUSTER_LOCATION), and every kubectl call names its context, KUBE_CONTEXT
# (gcloud's name for it unless given), so nothing is applied to another cluster.
REGION ?= us-central1
PROJECT ?=
REPO ?= weather-tweets
CLUSTER ?= weather-tweets
CLUSTER_LOCATION ?= $(REGION)
# The public host name (HTTPS certificate, HTTPRoutes, Grafana's root URL).
DOMAIN ?=
KUBE_CONTEXT ?= $(if $(PROJECT),gke_$(PROJECT)_$(CLUSTER_LOCATION)_$(CLUSTER))
export PROJECT REGION DOMAIN KUBE_CONTEXT
KUBECTL = kubectl --context "$(KUBE_CONTEXT)"
GCLOUD = gcloud --project "$(PROJECT)" --quiet
IMAGE_TAG ?= $(shell git -C $(ROOT) rev-parse --short=12 HEAD 2>/dev/null || echo dev)
GKE_REGISTRY = $(REGION)-docker.pkg.dev/$(PROJECT)/$(REPO)
# TOPOLOGY=ha (on the command line or in the environment): the HA overlay gke-ha (three RabbitMQ
# and three Kafka nodes, docs/deployment.md "High availability"), rendered in a folder of its own.
GKE_OVERLAY = $(if $(filter ha,$(TOPOLOGY)),gke-ha,gke)
GKE_RENDER_DIR = $(ROOT)/.state/$(GKE_OVERLAY)-deploy
# The example image names and host name committed in gke/, which gke-render replaces.
GKE_EXAMPLE_REGISTRY := us-central1-docker.pkg.dev/example-project/weather-tweets
DEPLOYABLES := api rabbitmq-consumer kafka-consumer
# Certificate Manager, address: the names gke/kustomization.yaml refers to.
GKE_TLS_NAME := weather-tweets
DOMAIN_PATTERN := ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$$

.PHONY: deploy-tools deploy-validate up down kind-test gke-render gke-build gke-secrets gke-tls gke-deploy

deploy-tools: ## Install kustomize $(KUSTOMIZE_VERSION) and kube-score $(KUBE_SCORE_VERSION) into .tools/bin (go install; kept when at that version)
	@$(GO_TOOL) kustomize sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	@$(GO_TOOL) kube-score github.com/zegl/kube-score/cmd/kube-score@$(KUBE_SCORE_VERSION)

deploy-validate: deploy-tools ## Render every overlay; schemas, kubelet environment, network flows, kube-score, compose, Dockerfile (no Docker)
	cd $(ROOT) && $(BUN) test test/deploy

# TOPOLOGY=ha: compose.yaml's `ha` profile (three RabbitMQ nodes, three Kafka brokers) and the
# services on it, instead of the single brokers.
COMPOSE_UP_SERVICES = $(if $(filter ha,$(TOPOLOGY)),--profile ha up --build --detach --wait api-ha rabbitmq-consumer-ha kafka-consumer-ha prometheus grafana,up --build --detach --wait)

up: ## Build the images and start the whole system with docker compose [TOPOLOGY=ha: three nodes per broker]
	@$(PREFLIGHT) up
	$(COMPOSE) $(COMPOSE_UP_SERVICES)
	@set -a; [[ -f $(ROOT)/.env ]] && source $(ROOT)/.env; set +a; \
	echo "API          http://127.0.0.1:$${API_HOST_PORT:-3000}  (POST /process)"; \
	echo "Swagger UI   http://127.0.0.1:$${API_HOST_PORT:-3000}/swagger"; \
	echo "Grafana      http://127.0.0.1:$${GRAFANA_HOST_PORT:-3001}  (admin / \$$GRAFANA_ADMIN_PASSWORD, default admin)"; \
	echo "RabbitMQ     http://127.0.0.1:$${RABBITMQ_MANAGEMENT_HOST_PORT:-15672}  (\$$RABBITMQ_USERNAME, default weather / weather)"; \
	echo "Prometheus   http://127.0.0.1:$${PROMETHEUS_HOST_PORT:-9090}"; \
	echo "Load:        $(COMPOSE) --profile load up -d locust  -> http://127.0.0.1:$${LOCUST_HOST_PORT:-8089}"

down: ## Stop the compose system (volumes kept; add -v by hand to drop the data)
	$(COMPOSE) --profile load --profile ha down --remove-orphans

kind-test: ## Kind cluster, images built and loaded, apply, smoke test, short Locust run, delete [TOPOLOGY=ha: kind-ha]
	@$(PREFLIGHT) kind-test
	@$(MAKE) --no-print-directory deploy-tools
	KUSTOMIZE="$(KUSTOMIZE)" $(if $(filter ha,$(TOPOLOGY)),KIND_OVERLAY=kind-ha KIND_CLUSTER_CONFIG=kind-ha/cluster.yaml) \
		bash $(ROOT)/kind/kind-test.sh

gke-render: deploy-tools ## Print the GKE manifests for PROJECT, REGION, REPO, IMAGE_TAG, DOMAIN [TOPOLOGY=ha] (nothing applied)
	@[[ -n "$(PROJECT)" && -n "$(DOMAIN)" ]] || { echo "PROJECT and DOMAIN are required, e.g. make $@ PROJECT=my-project DOMAIN=weather.example.org" >&2; exit 2; }
	@[[ "$(DOMAIN)" =~ $(DOMAIN_PATTERN) ]] || { echo "DOMAIN=$(DOMAIN) is not a host name" >&2; exit 2; }
	@mkdir -p $(GKE_RENDER_DIR)
	@{ echo "# Generated by make gke-render; not committed (.state/)."; \
	   echo "apiVersion: kustomize.config.k8s.io/v1beta1"; \
	   echo "kind: Kustomization"; \
	   echo "resources: [../../$(GKE_OVERLAY)]"; \
	   echo "images:"; \
	   for d in $(DEPLOYABLES); do \
	     echo "  - name: $(GKE_EXAMPLE_REGISTRY)/$$d"; \
	     echo "    newName: $(GKE_REGISTRY)/$$d"; \
	     echo "    newTag: \"$(IMAGE_TAG)\""; \
	   done; \
	   echo "patches:"; \
	   echo "  - target: {kind: HTTPRoute}"; \
	   echo "    patch: '[{\"op\": \"replace\", \"path\": \"/spec/hostnames\", \"value\": [\"$(DOMAIN)\"]}]'"; \
	   echo "  - target: {kind: Deployment, name: grafana}"; \
	   echo "    patch: |-"; \
	   echo "      {\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"grafana\"},"; \
	   echo "       \"spec\": {\"template\": {\"spec\": {\"containers\": [{\"name\": \"grafana\", \"env\": ["; \
	   echo "         {\"name\": \"GF_SERVER_ROOT_URL\", \"value\": \"https://$(DOMAIN)/grafana/\"}]}]}}}}"; \
	 } > $(GKE_RENDER_DIR)/kustomization.yaml
	@$(KUSTOMIZE_BUILD) $(GKE_RENDER_DIR)

gke-build: ## Build and push the three images to Artifact Registry, stopping at the first failure
	@$(PREFLIGHT) gke-build
	gcloud auth configure-docker $(REGION)-docker.pkg.dev --quiet
	@for d in $(DEPLOYABLES); do \
	  echo "build and push $(GKE_REGISTRY)/$$d:$(IMAGE_TAG)"; \
	  docker build --target $$d --tag $(GKE_REGISTRY)/$$d:$(IMAGE_TAG) $(ROOT) || exit 1; \
	  docker push $(GKE_REGISTRY)/$$d:$(IMAGE_TAG) || exit 1; \
	done

# A password is 2n hex digits from openssl, or nothing is created: an empty one would leave Grafana
# on admin/admin and RabbitMQ without a password.
gke-secrets: ## Create the broker and Grafana credentials (and the HA RabbitMQ cluster's Erlang cookie) once, random, never empty, never written to disk
	@$(PREFLIGHT) gke-secrets
	@$(KUBECTL) get namespace weather-tweets >/dev/null 2>&1 || $(KUBECTL) create namespace weather-tweets
	@random_hex() { \
	  local value; value="$$(openssl rand -hex "$$1")" || value=""; \
	  if [[ "$${#value}" -ne $$(($$1 * 2)) || "$$value" =~ [^0-9a-f] ]]; then \
	    echo "openssl rand -hex $$1 gave no usable password: no Secret created" >&2; return 1; \
	  fi; \
	  printf '%s' "$$value"; \
	}; \
	if $(KUBECTL) -n weather-tweets get secret rabbitmq-credentials >/dev/null 2>&1; then \
	  echo "secret rabbitmq-credentials exists: kept"; \
	else \
	  password="$$(random_hex 24)"; \
	  $(KUBECTL) -n weather-tweets create secret generic rabbitmq-credentials \
	    --from-literal=username=weather \
	    --from-literal=password="$$password" \
	    --from-literal=keda-host="amqp://weather:$$password@rabbitmq.weather-tweets.svc:5672/"; \
	fi; \
	if $(KUBECTL) -n weather-tweets get secret grafana-admin >/dev/null 2>&1; then \
	  echo "secret grafana-admin exists: kept"; \
	else \
	  password="$$(random_hex 16)"; \
	  $(KUBECTL) -n weather-tweets create secret generic grafana-admin \
	    --from-literal=username=admin --from-literal=password="$$password"; \
	fi; \
	if $(KUBECTL) -n weather-tweets get secret rabbitmq-erlang-cookie >/dev/null 2>&1; then \
	  echo "secret rabbitmq-erlang-cookie exists: kept"; \
	else \
	  cookie="$$(random_hex 32)"; \
	  $(KUBECTL) -n weather-tweets create secret generic rabbitmq-erlang-cookie --from-literal=cookie="$$cookie"; \
	fi

# Certificate Manager with DNS authorization: the certificate is issued once the CNAME printed at
# the end exists, whether or not the A record points at the Gateway yet.
gke-tls: ## Once per project and DOMAIN: static address, Google-managed certificate, certificate map
	@$(PREFLIGHT) gke-tls
	@[[ "$(DOMAIN)" =~ $(DOMAIN_PATTERN) ]] || { echo "DOMAIN=$(DOMAIN) is not a host name" >&2; exit 2; }
	$(GCLOUD) compute addresses describe $(GKE_TLS_NAME) --global >/dev/null 2>&1 || \
	  $(GCLOUD) compute addresses create $(GKE_TLS_NAME) --global
	$(GCLOUD) certificate-manager dns-authorizations describe $(GKE_TLS_NAME) >/dev/null 2>&1 || \
	  $(GCLOUD) certificate-manager dns-authorizations create $(GKE_TLS_NAME) --domain=$(DOMAIN)
	$(GCLOUD) certificate-manager certificates describe $(GKE_TLS_NAME) >/dev/null 2>&1 || \
	  $(GCLOUD) certificate-manager certificates create $(GKE_TLS_NAME) --domains=$(DOMAIN) --dns-authorizations=$(GKE_TLS_NAME)
	$(GCLOUD) certificate-manager maps describe $(GKE_TLS_NAME) >/dev/null 2>&1 || \
	  $(GCLOUD) certificate-manager maps create $(GKE_TLS_NAME)
	$(GCLOUD) certificate-manager maps entries describe $(GKE_TLS_NAME) --map=$(GKE_TLS_NAME) >/dev/null 2>&1 || \
	  $(GCLOUD) certificate-manager maps entries create $(GKE_TLS_NAME) --map=$(GKE_TLS_NAME) \
	    --hostname=$(DOMAIN) --certificates=$(GKE_TLS_NAME)
	@echo "DNS records for $(DOMAIN):"
	@echo "  A     $(DOMAIN)  $$($(GCLOUD) compute addresses describe $(GKE_TLS_NAME) --global --format='value(address)')"
	@echo "  CNAME $$($(GCLOUD) certificate-manager dns-authorizations describe $(GKE_TLS_NAME) --format='value(dnsResourceRecord.name,dnsResourceRecord.data)')"

gke-deploy: ## Push images tagged IMAGE_TAG, ensure Secrets, apply the GKE overlay for DOMAIN, wait for every rollout
	@$(PREFLIGHT) gke-deploy
	@{ $(GCLOUD) compute addresses describe $(GKE_TLS_NAME) --global && \
	   $(GCLOUD) certificate-manager maps describe $(GKE_TLS_NAME); } >/dev/null 2>&1 || \
	  { echo "no address or certificate map $(GKE_TLS_NAME) in $(PROJECT): run make gke-tls PROJECT=$(PROJECT) DOMAIN=$(DOMAIN) first" >&2; exit 1; }
	@$(MAKE) --no-print-directory gke-build gke-secrets
	@mkdir -p $(GKE_RENDER_DIR)
	@$(MAKE) --no-print-directory -s gke-render > $(GKE_RENDER_DIR)/manifests.yaml
	$(KUBECTL) apply --server-side --field-manager=weather-tweets -f $(GKE_RENDER_DIR)/manifests.yaml
	@for w in $$($(KUBECTL) get -f $(GKE_RENDER_DIR)/manifests.yaml -o name | grep -E '^(deployment|statefulset)\.apps/'); do \
	  $(KUBECTL) -n weather-tweets rollout status $$w --timeout=600s || exit 1; \
	done
	@echo "API at https://$(DOMAIN)/ (Swagger UI /swagger), Grafana at https://$(DOMAIN)/grafana/"
	@echo "Gateway address: $$($(KUBECTL) -n weather-tweets get gateway weather-tweets -o jsonpath='{.status.addresses[0].value}')"
