"""Residual bias of the drift-adjusted specification over many rating seeds (issue 19)."""
import json, os, shutil, subprocess, sys, tempfile, csv
BIN = os.environ.get("BIN", "/work/main/target/debug/blindfold")
PROMPTS = int(os.environ.get("PROMPTS", "8"))
DRIFT = os.environ.get("DRIFT", "0.6")
ANCHORS = os.environ.get("ANCHORS", "48")

def sh(*args):
    r = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{args}: {r.stderr}")
    return r.stdout

def rate(round_dir, tag, drift, seed, tmp):
    man = json.load(open(f"{round_dir}/packets/manifest.json"))
    sheets = []
    for rater in man["packets"]:
        out = f"{tmp}/{tag}-{rater}.csv"
        sh("rate", "--simulate", f"{round_dir}/packets/{rater}.json", "--out", out, "--seed", seed, f"--drift={drift}")
        sheets.append(out)
    sh("unblind", round_dir, *sheets)

def one(seed):
    tmp = tempfile.mkdtemp()
    st = f"{tmp}/study"
    sh("init", st)
    dep = open(f"{st}/prompts/deployment.toml").read()
    open(f"{st}/prompts/small.toml", "w").write("[[prompt]]".join(dep.split("[[prompt]]")[: PROMPTS + 1]))
    toml = open(f"{st}/study.toml").read().replace('prompts = ["deployment"]', 'prompts = ["small"]', 1)
    open(f"{st}/study.toml", "w").write(toml)
    sh("run", st, "--run", "r")
    run = f"{st}/runs/r"
    sh("blind", run, "--seed", seed)
    rate(f"{run}/blind/round-1", "one", "0", seed, tmp)
    open(f"{st}/scaffolds/socratic-v1.toml", "w").write('system = "Answer only with guiding questions."\n')
    toml = open(f"{st}/study.toml").read()
    toml = toml.replace('"verification-steerability"]', '"verification-steerability", "socratic-v1"]', 1)
    toml = toml.replace('models = ["sim-alpha", "sim-beta", "sim-gamma"]', 'models = ["sim-alpha", "sim-beta", "sim-gamma", "sim-delta"]', 1)
    toml += '\n[[model]]\nid = "sim-delta"\nprovider = "sim"\nmodel = "sim-beta"\ntemperature = 0.3\n'
    open(f"{st}/study.toml", "w").write(toml)
    sh("run", st, "--run", "r")
    sh("blind", run, "--seed", int(seed) + 1000, "--anchors", ANCHORS)
    control = f"{tmp}/control"
    shutil.copytree(st, control)
    crun = f"{control}/runs/r"
    rate(f"{run}/blind/round-2", "two", DRIFT, seed, tmp)
    rate(f"{crun}/blind/round-2", "steady", "0", seed, tmp)
    sh("report", run)
    sh("report", crun)
    res = json.load(open(f"{run}/report/results.json"))
    base = json.load(open(f"{crun}/report/results.json"))
    def eff(r, m):
        d = [d for d in r["dimensions"] if d["id"] == "verification_support"][0]
        return [e for e in d["effects"] if e["model"] == m and e["scaffold"] == "socratic-v1"][0]["effect"]["value"]
    rows = []
    for a in res["rounds_analysis"]["adjusted_effects"]:
        m = a["model"]
        rows.append((m, eff(base, m), a["registered"]["value"], a["adjusted"]["value"], a.get("bound")))
    shutil.rmtree(tmp)
    return rows

if __name__ == "__main__":
    seeds = range(int(sys.argv[1]), int(sys.argv[2]))
    tot, bounds, bounds_held = {}, {}, {}
    for s in seeds:
        for m, steady, reg, adj, bound in one(str(s)):
            print(f"seed {s} {m}: steady {steady:+.3f} registered {reg:+.3f} adjusted {adj:+.3f} bias {reg-steady:+.3f} left {adj-steady:+.3f}" + (f" (a bound: {bound})" if bound else ""), flush=True)
            if bound:
                bounds[m] = bounds.get(m, 0) + 1
                # A bound holds when the drift-free effect lies on its side.
                held = (steady >= adj - 1e-9) if bound == "at_least" else (steady <= adj + 1e-9) if bound == "at_most" else True
                bounds_held[m] = bounds_held.get(m, 0) + held
                continue
            t = tot.setdefault(m, [0, 0.0, 0.0, 0.0])
            t[0] += 1; t[1] += reg - steady; t[2] += adj - steady; t[3] += (adj - steady) ** 2
    for m, (n, b, l, l2) in tot.items():
        print(f"{m}: n {n} mean bias {b/n:+.3f} mean left {l/n:+.3f} rms left {(l2/n)**0.5:.3f}")
    for m, n in bounds.items():
        print(f"{m}: {n} bounds, {bounds_held[m]} held")
