//! Starting the network and looking at it.

use std::collections::BTreeSet;
use std::fs;
use std::future::Future;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use umbra_client::Client;
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_process::{ChildSpec, Event, Restart, StopReport, Supervisor};
use umbra_protocol::client::{ClientOptions, PruntimeClient};
use umbra_runtime::modules::gatekeeper;

use crate::{ports, Error, Progress};

/// Most workers a network starts (one funded relayer account each).
pub const MAX_WORKERS: u16 = 6;

/// The relayer accounts of workers 1…6 (endowed in the dev chain spec).
const WORKER_SIGNERS: [&str; MAX_WORKERS as usize] =
    ["//Ferdie", "//Dave", "//Ferdie//stash", "//Dave//stash", "//Charlie//stash", "//Bob//stash"];
/// The gatekeeper's relayer account.
const GATEKEEPER_SIGNER: &str = "//Eve";
/// The dev chain's sudo key.
const SUDO: &str = "//Alice";
/// The first pRuntime port when it and the ports above it are free.
const DEFAULT_PRUNTIME_PORT: u16 = 8100;
/// How long a stop waits before killing what still runs.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a sudo call may take to finalize.
const FINALITY_TIMEOUT: Duration = Duration::from_secs(120);

/// The programs a network runs.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// `umbra-node`.
    pub node: PathBuf,
    /// `umbra-pruntime`.
    pub pruntime: PathBuf,
    /// `umbra-relayer`.
    pub relayer: PathBuf,
}

impl Binaries {
    /// The three binaries in `dir` (a cargo `target/<profile>`); an error
    /// names a missing one and how to build it.
    pub fn in_dir(dir: &Path) -> Result<Binaries, Error> {
        let find = |name: &str, package: &'static str| {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::Binary { path, package })
            }
        };
        Ok(Binaries {
            node: find("umbra-node", "umbra-node-bin")?,
            pruntime: find("umbra-pruntime", "umbra-pruntime-bin")?,
            relayer: find("umbra-relayer", "umbra-relayer-bin")?,
        })
    }
}

/// Most validator nodes of a devnet (the `local-N` specs).
pub const MAX_VALIDATORS: u8 = 7;
/// The validators' dev accounts, in order (the `local-N` specs').
const VALIDATOR_ACCOUNTS: [&str; MAX_VALIDATORS as usize] = ["alice", "bob", "charlie", "dave", "eve", "ferdie", "one"];

/// What to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// The data directory (one network at a time uses it).
    pub base: PathBuf,
    /// Validator nodes: 1 is `umbra-node --dev`; 2–7 run the `local-N`
    /// spec (Alice, Bob, … each a process, connected through Alice's node).
    pub validators: u8,
    /// Wipe the data directory first.
    pub fresh: bool,
    /// The node's JSON-RPC port.
    pub rpc_port: u16,
    /// The node's Prometheus port, if any.
    pub prometheus_port: Option<u16>,
    /// The first pRuntime port (worker 1's private API; public +1;
    /// gatekeeper +2/+3; worker i ≥ 2 at +2i/+2i+1). `None`: that layout
    /// from 8100 when all its ports are free, else free ports.
    pub pruntime_port: Option<u16>,
    /// Worker pRuntimes (0: only the node).
    pub workers: u16,
    /// Each worker's per-address query rate (pRuntime `--query-rate`).
    pub query_rate: u32,
    /// TEST ONLY: worker `N` runs with the divergence fault hook.
    pub test_fault_diverge: Option<u16>,
    /// The programs.
    pub binaries: Binaries,
    /// Where progress goes.
    pub progress: Progress,
}

/// A pRuntime's ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerPorts {
    /// The private (relayer) API.
    pub private: u16,
    /// The public API (info, queries).
    pub public: u16,
}

/// Every port of a running network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ports {
    /// The first node's JSON-RPC (HTTP and WebSocket).
    pub rpc: u16,
    /// The other validator nodes' JSON-RPC ports (nodes 2…N).
    pub other_nodes: Vec<u16>,
    /// The node's Prometheus metrics.
    pub prometheus: Option<u16>,
    /// The gatekeeper pRuntime.
    pub gatekeeper: Option<WorkerPorts>,
    /// Worker pRuntimes 1…N.
    pub workers: Vec<WorkerPorts>,
}

/// A running network. Dropping it stops every process (as
/// [`Network::stop`] does).
pub struct Network {
    supervisor: Supervisor,
    client: Client,
    ports: Ports,
    base: PathBuf,
    progress: Progress,
    /// Held while the network runs: the data directory's lock.
    _lock: fs::File,
}

/// The pRuntimes' ports for `config`: the requested layout (every port
/// free, else an error naming the taken one), or the default layout, or
/// free ports.
fn choose_ports(config: &Config) -> Result<Ports, Error> {
    let check = |port: u16, flag: &'static str| {
        if ports::is_free(port) {
            Ok(())
        } else {
            Err(Error::PortInUse { port, flag, holder: ports::holder_of(port) })
        }
    };
    check(config.rpc_port, "--rpc-port")?;
    if let Some(p) = config.prometheus_port {
        check(p, "--prometheus-port")?;
    }
    let mut out = Ports {
        rpc: config.rpc_port,
        other_nodes: vec![],
        prometheus: config.prometheus_port,
        gatekeeper: None,
        workers: vec![],
    };
    let mut taken: BTreeSet<u16> = [Some(config.rpc_port), config.prometheus_port].into_iter().flatten().collect();
    for _ in 1..config.validators {
        let p = ports::free_port(&taken, false).ok_or_else(|| Error::Config("no free ports on 127.0.0.1".into()))?;
        taken.insert(p);
        out.other_nodes.push(p);
    }
    if config.workers == 0 {
        return Ok(out);
    }
    let layout = |base: u16| -> Option<(WorkerPorts, Vec<WorkerPorts>)> {
        let at = |p: u16| Some(WorkerPorts { private: p, public: p.checked_add(1)? });
        let gatekeeper = at(base.checked_add(2)?)?;
        let workers = (1..=config.workers)
            .map(|i| at(if i == 1 { base } else { base.checked_add(2 * i)? }))
            .collect::<Option<Vec<_>>>()?;
        Some((gatekeeper, workers))
    };
    let all = |(g, w): &(WorkerPorts, Vec<WorkerPorts>)| {
        std::iter::once(g).chain(w).flat_map(|p| [p.private, p.public]).collect::<Vec<u16>>()
    };
    let reserved: BTreeSet<u16> = taken;
    if let Some(base) = config.pruntime_port {
        let plan = layout(base).ok_or_else(|| Error::Config(format!("--pruntime-port {base} leaves no room")))?;
        for port in all(&plan) {
            if reserved.contains(&port) {
                return Err(Error::Config(format!("--pruntime-port {base} overlaps the node's ports at {port}")));
            }
            check(port, "--pruntime-port")?;
        }
        (out.gatekeeper, out.workers) = (Some(plan.0), plan.1);
        return Ok(out);
    }
    if let Some(plan) = layout(DEFAULT_PRUNTIME_PORT) {
        if all(&plan).iter().all(|p| !reserved.contains(p) && ports::is_free(*p)) {
            (out.gatekeeper, out.workers) = (Some(plan.0), plan.1);
            return Ok(out);
        }
    }
    // Another network (or anything) holds the default ports: free ones.
    let mut taken = reserved;
    let mut pair = || -> Result<WorkerPorts, Error> {
        let p = ports::free_port(&taken, true).ok_or_else(|| Error::Config("no free ports on 127.0.0.1".into()))?;
        taken.extend([p, p + 1]);
        Ok(WorkerPorts { private: p, public: p + 1 })
    };
    out.gatekeeper = Some(pair()?);
    out.workers = (0..config.workers).map(|_| pair()).collect::<Result<_, _>>()?;
    Ok(out)
}

/// Locks `base` for this network (`devnet.lock`, holding our pid).
fn lock_base(base: &Path) -> Result<fs::File, Error> {
    let io = |e: std::io::Error| Error::Io { path: base.to_path_buf(), reason: e.to_string() };
    fs::create_dir_all(base).map_err(io)?;
    let path = base.join("devnet.lock");
    let mut file =
        fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io)?;
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        return Err(Error::BaseInUse { path: base.to_path_buf(), pid: text.trim().parse().ok() });
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = writeln!(file, "{}", std::process::id());
    Ok(file)
}

/// Removes everything in `base` but its lock.
fn wipe(base: &Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io { path: base.to_path_buf(), reason: e.to_string() };
    for entry in fs::read_dir(base).map_err(io)?.flatten() {
        if entry.file_name() == "devnet.lock" {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        removed.map_err(|e| Error::Io { path, reason: e.to_string() })?;
    }
    Ok(())
}

/// Short timeouts for polling a pRuntime.
fn quick() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..ClientOptions::private()
    }
}

/// pRuntime's status on loopback `port` (private API), or `None`.
async fn pruntime_status(port: u16) -> Option<umbra_protocol::api::Status> {
    use umbra_protocol::PrivateApi;
    PruntimeClient::new(&format!("127.0.0.1:{port}"), quick()).status().await.ok()
}

fn sudo_pair() -> Result<Pair, Error> {
    let uri = SecretUri::parse(SUDO).map_err(|e| Error::Config(e.to_string()))?;
    Pair::from_suri(Scheme::Sr25519, &uri).map_err(|e| Error::Config(e.to_string()))
}

/// Best and finalized block numbers and peers of the node at RPC `port`.
async fn node_heads(port: u16) -> Option<(u32, u32, u64)> {
    let client = Client::connect(&format!("ws://127.0.0.1:{port}")).await.ok()?;
    let best = client.best_header().await.ok()?.number;
    let finalized = client.finalized_hash().await.ok()?;
    let finalized = client.header(finalized).await.ok().flatten()?.number;
    let peers = client.call("system_health", vec![]).await.ok()?["peers"].as_u64()?;
    Some((best, finalized, peers))
}

/// One pRuntime and its relayer.
struct Pair_<'a> {
    /// `gatekeeper`, `worker 1`, …
    label: String,
    /// Data directory and log name (`gatekeeper`, `pruntime`, `pruntime2`).
    dir: String,
    role: &'a str,
    ports: WorkerPorts,
    signer: &'a str,
    extra: Vec<String>,
    /// The node its relayer follows.
    node_url: String,
}

struct Starting<'a> {
    supervisor: &'a Supervisor,
    progress: Progress,
    base: &'a Path,
    binaries: &'a Binaries,
    node_url: String,
    /// Every node's WebSocket URL (the first is `node_url`).
    node_urls: Vec<String>,
}

impl Starting<'_> {
    /// Polls `f` every 200 ms until it answers, `timeout` passes, or a
    /// process exits (then its status and log tail are the error).
    async fn wait<T, F, Fut>(&self, what: &str, timeout: Duration, log: &Path, mut f: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            for event in self.supervisor.drain_events() {
                if let Event::Exited { name, status, tail, .. } = event {
                    return Err(Error::Exited { name, status, during: what.to_string(), tail });
                }
            }
            if let Some(v) = f().await {
                return Ok(v);
            }
            tokio::select! {
                _ = &mut deadline => return Err(Error::Timeout { what: what.to_string(), log: log.to_path_buf() }),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    fn spawn(&self, name: &str, program: &Path, args: Vec<String>, log: PathBuf) -> Result<u32, Error> {
        let spec = ChildSpec::new(name, program, log.clone())
            .args(args)
            .env("NO_COLOR", "1")
            .restart(Restart::DEFAULT_BACKOFF);
        let pid = self.supervisor.spawn(spec)?;
        self.progress.println(format!("  {name} started (pid {pid}), logs in {}", log.display()));
        Ok(pid)
    }

    /// Starts a pRuntime and its relayer, allows the measurement, waits for
    /// the registration; returns the pRuntime's identity.
    async fn pair(&self, pair: &Pair_<'_>, client: &Client) -> Result<umbra_crypto::sr25519::Public, Error> {
        let data = self.base.join(&pair.dir);
        let log = self.base.join(format!("{}.log", pair.dir));
        let mut args: Vec<String> = vec![
            "--data-dir".into(),
            data.display().to_string(),
            "--private-addr".into(),
            format!("127.0.0.1:{}", pair.ports.private),
            "--public-addr".into(),
            format!("127.0.0.1:{}", pair.ports.public),
            "--tee".into(),
            "sim".into(),
            "--role".into(),
            pair.role.into(),
        ];
        args.extend(pair.extra.iter().cloned());
        self.spawn(&format!("{} pRuntime", pair.label), &self.binaries.pruntime, args, log.clone())?;
        let relayer_args = vec![
            "--node".into(),
            pair.node_url.clone(),
            "--pruntime".into(),
            format!("127.0.0.1:{}", pair.ports.private),
            "--signer".into(),
            pair.signer.into(),
        ];
        let relayer_log = self.base.join(format!("{}-relayer.log", pair.dir));
        self.spawn(&format!("{} relayer", pair.label), &self.binaries.relayer, relayer_args, relayer_log)?;
        let public = PruntimeClient::new(&format!("127.0.0.1:{}", pair.ports.public), quick());
        let spinner = self.progress.spinner(format!("waiting for the {} pRuntime to answer", pair.label));
        let info = self
            .wait("waiting for the pRuntime to answer", Duration::from_secs(120), &log, || async {
                public.info().await.ok()
            })
            .await?;
        spinner.done(format!("{} pRuntime identity 0x{} (SIMULATED TEE)", pair.role, hex::encode(info.identity)));
        let measurement = umbra_attestation::Measurement(info.measurement.clone());
        let allowed = client.allowed_measurements().await?;
        if !allowed.iter().any(|(m, _)| *m == measurement) {
            let spinner = self.progress.spinner("allowing the pRuntime measurement (Sudo)");
            let call = umbra_runtime::RuntimeCall::Registry(Box::new(
                umbra_runtime::modules::registry::Call::add_measurement { measurement },
            ));
            client.sudo(&sudo_pair()?, call, FINALITY_TIMEOUT, |_| {}).await?;
            spinner.done(format!("measurement 0x{} allowed (Sudo {SUDO})", hex::encode(&info.measurement)));
        }
        let spinner = self.progress.spinner(format!("waiting for the {} to sync and register", pair.label));
        let status = self
            .wait("waiting for the worker to sync and register", Duration::from_secs(300), &log, || async {
                pruntime_status(pair.ports.private).await.filter(|s| s.core.registered)
            })
            .await?;
        let synced = status.core.synced_block.map_or("-".to_string(), |n| n.to_string());
        spinner.done(format!("{} synced to #{synced} and registered on chain", pair.role));
        Ok(umbra_crypto::sr25519::Public(info.identity))
    }

    /// The gatekeeper (appointed, epoch 0 published), then the workers.
    async fn pruntimes(&self, config: &Config, ports: &Ports, client: &Client) -> Result<(), Error> {
        let Some(gatekeeper_ports) = ports.gatekeeper else { return Ok(()) };
        let gatekeeper = Pair_ {
            label: "gatekeeper".into(),
            dir: "gatekeeper".into(),
            role: "gatekeeper",
            ports: gatekeeper_ports,
            signer: GATEKEEPER_SIGNER,
            extra: vec![],
            node_url: self.node_url.clone(),
        };
        let identity = self.pair(&gatekeeper, client).await?;
        let set: Vec<umbra_crypto::sr25519::Public> = client
            .storage(&gatekeeper::keys::gatekeepers(), None)
            .await?
            .and_then(|raw| parity_scale_codec::Decode::decode(&mut &raw[..]).ok())
            .unwrap_or_default();
        if set.is_empty() {
            let spinner = self.progress.spinner("appointing the gatekeeper (Sudo)");
            let call = umbra_runtime::RuntimeCall::Gatekeeper(gatekeeper::Call::add_gatekeeper { identity });
            client.sudo(&sudo_pair()?, call, FINALITY_TIMEOUT, |_| {}).await?;
            spinner.done(format!("gatekeeper appointed (Sudo {SUDO})"));
        }
        let key = gatekeeper::keys::master_pubkey(0);
        let spinner = self.progress.spinner("waiting for the master key of epoch 0");
        let log = self.base.join("gatekeeper.log");
        let published = self
            .wait("waiting for the master key of epoch 0", Duration::from_secs(120), &log, || async {
                client.storage(&key, None).await.ok().flatten()
            })
            .await?;
        spinner.done(format!("master key epoch 0 published: 0x{}", hex::encode(published)));
        for (i, (worker_ports, signer)) in (1..).zip(ports.workers.iter().zip(WORKER_SIGNERS)) {
            let faulty = config.test_fault_diverge == Some(i);
            if faulty {
                self.progress
                    .println(format!("  worker {i}: TEST FAULT HOOK — its contract state diverges on purpose"));
            }
            let worker = Pair_ {
                label: format!("worker {i}"),
                dir: if i == 1 { "pruntime".into() } else { format!("pruntime{i}") },
                role: "worker",
                ports: *worker_ports,
                signer,
                extra: [
                    vec!["--query-rate".to_string(), config.query_rate.to_string()],
                    if faulty { vec!["--test-fault-diverge".to_string()] } else { vec![] },
                ]
                .concat(),
                // Workers follow the nodes in turn: worker 1 the second
                // node, and so on (the first with one node).
                node_url: self.node_urls[usize::from(i) % self.node_urls.len()].clone(),
            };
            self.pair(&worker, client).await?;
        }
        Ok(())
    }
}

impl Network {
    /// Starts the network of `config` and waits until it is ready: blocks
    /// finalized, the gatekeeper holding epoch 0, every worker synced and
    /// registered. A process that exits meanwhile is the error (with its
    /// log tail); whatever was started is stopped before returning it.
    /// Dropping the returned future (a Ctrl-C during start-up) stops what
    /// was started too.
    pub async fn start(config: Config) -> Result<Network, Error> {
        if config.workers > MAX_WORKERS {
            return Err(Error::Config(format!("at most {MAX_WORKERS} workers")));
        }
        if config.validators == 0 || config.validators > MAX_VALIDATORS {
            return Err(Error::Config(format!("1 to {MAX_VALIDATORS} validators")));
        }
        let lock = lock_base(&config.base)?;
        if config.fresh {
            wipe(&config.base)?;
            config.progress.println(format!("wiped {}", config.base.display()));
        }
        let ports = choose_ports(&config)?;
        let supervisor = Supervisor::new();
        let progress = config.progress;
        let node_url = format!("ws://127.0.0.1:{}", ports.rpc);
        let node_urls: Vec<String> = std::iter::once(ports.rpc)
            .chain(ports.other_nodes.iter().copied())
            .map(|p| format!("ws://127.0.0.1:{p}"))
            .collect();
        let starting = Starting {
            supervisor: &supervisor,
            progress,
            base: &config.base,
            binaries: &config.binaries,
            node_url,
            node_urls,
        };
        let workers_text = format!(
            ", a gatekeeper and {} worker pRuntime(s) (SIMULATED TEE) with their relayers",
            ports.workers.len()
        );
        let validators = usize::from(config.validators);
        let chain = if validators == 1 { "dev".to_string() } else { format!("local-{validators}") };
        progress.println(format!(
            "umbra devnet: starting {}{} (chain {chain}, data in {})",
            if validators == 1 { "1 node".to_string() } else { format!("{validators} validator nodes") },
            if ports.workers.is_empty() { "" } else { &workers_text },
            config.base.display()
        ));
        let node_log = config.base.join("node.log");
        let mut node_args: Vec<String> = if validators == 1 {
            vec!["--dev".into()]
        } else {
            // A loopback network: a short GRANDPA gossip estimate.
            ["--chain", &chain, "--dev-account", "alice", "--gossip-duration-ms", "300"].map(String::from).into()
        };
        node_args.extend(["--name".into(), "devnet-node".into()]);
        node_args.extend(["--rpc-port".into(), ports.rpc.to_string(), "--base-path".into()]);
        node_args.push(config.base.join("node").display().to_string());
        let mut p2p_taken: BTreeSet<u16> =
            [ports.rpc].into_iter().chain(ports.other_nodes.iter().copied()).chain(ports.prometheus).collect();
        let mut p2p_port = || {
            let p =
                ports::free_port(&p2p_taken, false).ok_or_else(|| Error::Config("no free ports on 127.0.0.1".into()));
            if let Ok(p) = p {
                p2p_taken.insert(p);
            }
            p
        };
        let first_p2p = p2p_port()?;
        if validators > 1 {
            node_args.extend(["--listen-addr".into(), format!("/ip4/127.0.0.1/tcp/{first_p2p}")]);
        }
        if let Some(p) = ports.prometheus {
            node_args.extend(["--prometheus-port".into(), p.to_string()]);
        }
        starting.spawn("node", &config.binaries.node, node_args, node_log.clone())?;
        let spinner = progress.spinner("waiting for JSON-RPC");
        let url = starting.node_url.clone();
        let client = starting
            .wait("waiting for JSON-RPC", Duration::from_secs(60), &node_log, || async {
                Client::connect(&url).await.ok()
            })
            .await?;
        spinner.done("JSON-RPC ready");
        if validators > 1 {
            let peer_id = client.call("system_localPeerId", vec![]).await?;
            let bootnode = format!("/ip4/127.0.0.1/tcp/{first_p2p}/p2p/{}", peer_id.as_str().unwrap_or_default());
            for (i, rpc) in (2..).zip(ports.other_nodes.iter()) {
                let dir = config.base.join(format!("node{i}"));
                let args: Vec<String> = vec![
                    "--chain".into(),
                    chain.clone(),
                    "--dev-account".into(),
                    VALIDATOR_ACCOUNTS[i - 1].into(),
                    "--gossip-duration-ms".into(),
                    "300".into(),
                    "--name".into(),
                    format!("devnet-node{i}"),
                    "--rpc-port".into(),
                    rpc.to_string(),
                    "--base-path".into(),
                    dir.display().to_string(),
                    "--listen-addr".into(),
                    format!("/ip4/127.0.0.1/tcp/{}", p2p_port()?),
                    "--bootnodes".into(),
                    bootnode.clone(),
                ];
                let log = config.base.join(format!("node{i}.log"));
                starting.spawn(
                    &format!("node {i} ({})", VALIDATOR_ACCOUNTS[i - 1]),
                    &config.binaries.node,
                    args,
                    log,
                )?;
            }
            let spinner = progress.spinner(format!("waiting for {validators} validators to connect"));
            let want = validators - 1;
            starting
                .wait("waiting for the validators to connect", Duration::from_secs(120), &node_log, || async {
                    let health = client.call("system_health", vec![]).await.ok()?;
                    (health["peers"].as_u64()? as usize >= want).then_some(())
                })
                .await?;
            spinner.done(format!("{validators} validators connected"));
        }
        let spinner = progress.spinner("waiting for the first finalized block");
        let first = starting
            .wait("waiting for the first finalized block", Duration::from_secs(60), &node_log, || async {
                let hash = client.finalized_hash().await.ok()?;
                let number = client.header(hash).await.ok().flatten()?.number;
                (number > 0).then_some(number)
            })
            .await?;
        spinner.done(format!("blocks are produced and finalized (#{first} finalized)"));
        starting.pruntimes(&config, &ports, &client).await?;
        Ok(Network { supervisor, client, ports, base: config.base.clone(), progress, _lock: lock })
    }

    /// A client of the node (reconnected by [`Network::reconnect`]).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Connects a new client (after the node restarted).
    pub async fn reconnect(&mut self) -> Result<(), Error> {
        self.client = Client::connect(&self.ws_url()).await?;
        Ok(())
    }

    /// The network's ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The data directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The supervisor (events, signals to a child by name: `node`,
    /// `gatekeeper pRuntime`, `worker 1 relayer`, …).
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The node's WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ports.rpc)
    }

    /// Worker `i`'s (1-based) public API URL.
    pub fn worker_url(&self, i: usize) -> Option<String> {
        let p = self.ports.workers.get(i.checked_sub(1)?)?;
        Some(format!("http://127.0.0.1:{}", p.public))
    }

    /// The endpoints, one per line.
    pub fn endpoints(&self) -> Vec<String> {
        let mut out =
            vec![format!("JSON-RPC (HTTP and WebSocket): http://127.0.0.1:{0}  ws://127.0.0.1:{0}", self.ports.rpc)];
        for (i, p) in (2..).zip(&self.ports.other_nodes) {
            let label = format!("node {i} ({}) JSON-RPC:", VALIDATOR_ACCOUNTS[i - 1]);
            out.push(format!(
                "{label:<31}ws://127.0.0.1:{p}, log {}",
                self.base.join(format!("node{i}.log")).display()
            ));
        }
        if let Some(p) = self.ports.prometheus {
            out.push(format!("Prometheus metrics:            http://127.0.0.1:{p}/metrics"));
        }
        out.push(format!("node log:                      {}", self.base.join("node.log").display()));
        if let Some(g) = self.ports.gatekeeper {
            out.push(format!("gatekeeper pRuntime:            http://127.0.0.1:{}/status", g.private));
        }
        for (i, w) in (1..).zip(&self.ports.workers) {
            out.push(format!(
                "worker {i} pRuntime:              http://127.0.0.1:{}/status (public API http://127.0.0.1:{}/info)",
                w.private, w.public
            ));
        }
        out
    }

    /// One line: best and finalized block, peers, pool, each worker's
    /// synced block and registration, the gatekeeper's epoch. `None` when
    /// the node does not answer.
    pub async fn status_line(&self) -> Option<String> {
        let client = &self.client;
        let best = client.best_header().await.ok()?;
        let finalized = client.finalized_hash().await.ok()?;
        let fin_number = client.header(finalized).await.ok().flatten()?.number;
        let health = client.call("system_health", vec![]).await.ok()?;
        let pending = client.call("author_pendingExtrinsics", vec![]).await.ok()?;
        let mut line = format!(
            "best #{} finalized #{} peers {} txpool {}",
            best.number,
            fin_number,
            health["peers"],
            pending.as_array().map(Vec::len).unwrap_or(0)
        );
        for (i, port) in (2..).zip(&self.ports.other_nodes) {
            line.push_str(&match node_heads(*port).await {
                Some((best, finalized, peers)) => format!(" | node {i} #{best}/#{finalized} peers {peers}"),
                None => format!(" | node {i} unreachable"),
            });
        }
        for w in &self.ports.workers {
            line.push_str(&match pruntime_status(w.private).await {
                Some(s) => format!(
                    " | worker synced #{} {}",
                    s.core.synced_block.map_or("-".to_string(), |n| n.to_string()),
                    if s.core.registered { "registered" } else { "unregistered" }
                ),
                None => " | worker unreachable".into(),
            });
        }
        if let Some(g) = self.ports.gatekeeper {
            line.push_str(&match pruntime_status(g.private).await {
                Some(s) => match s.core.epochs.last().map(|e| e.epoch) {
                    Some(epoch) => format!(" | gatekeeper epoch {epoch}"),
                    None => " | gatekeeper without key".into(),
                },
                None => " | gatekeeper unreachable".into(),
            });
        }
        Some(line)
    }

    /// What happened to the processes since the last call, as lines
    /// (`worker 1 pRuntime exited (signal: 9 (SIGKILL)); restarting in
    /// 0.5 s; last log lines: …`).
    pub fn events(&self) -> Vec<String> {
        self.supervisor
            .drain_events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Exited { name, status, tail, restart_in, .. } => Some(format!(
                    "{name} exited ({status}); {}; last log lines:\n{tail}",
                    match restart_in {
                        Some(d) => format!("restarting in {} ms", d.as_millis()),
                        None => "not restarted".into(),
                    }
                )),
                Event::Started { name, pid, restarts } if restarts > 0 => {
                    Some(format!("{name} restarted (pid {pid}, restart {restarts})"))
                }
                Event::RestartFailed { name, reason } => Some(format!("{name} could not be restarted: {reason}")),
                Event::Started { .. } => None,
            })
            .collect()
    }

    /// Stops every process (SIGTERM, SIGKILL after 5 s) and reports how.
    pub fn stop(self) -> StopReport {
        self.progress.println("stopping the devnet...");
        self.supervisor.stop_all(STOP_GRACE)
    }
}
