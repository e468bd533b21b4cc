#!/usr/bin/env bash
# Runs a main class of the bench module with JDK 25 and the project's JVM flags, building the jar first.
# Used by run-kernels.sh and run-model-load.sh; run it on an otherwise idle machine.
#
# Usage: bench/run-main.sh [--no-build] MAIN_CLASS [options of that main]
#   --no-build        reuse bench/target${BUILD_SUFFIX}/benchmarks.jar instead of running Maven first
# Environment: JAVA25_HOME (else JAVA_HOME, else the first JDK >= 25 under /usr/lib/jvm, which is where Maven's
# toolchains plugin finds it too); BUILD_SUFFIX (Maven -Dbuild.suffix, default none); BENCH_JAVA_OPTS (extra JVM
# options, e.g. -XX:StartFlightRecording=... or -Xmx16g).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

find_jdk25() {
    local candidate version
    for candidate in "${JAVA25_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/*; do
        [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -f "$candidate/release" ] || continue
        version=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$candidate/release")
        if [ -n "$version" ] && [ "$version" -ge 25 ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

build=1
if [ "${1:-}" = "--no-build" ]; then
    build=0
    shift
fi

main=${1:?usage: bench/run-main.sh [--no-build] MAIN_CLASS [options]}
shift
jdk=$(find_jdk25) || { echo "run-main: no JDK 25 or newer found (set JAVA25_HOME)" >&2; exit 1; }
suffix=${BUILD_SUFFIX:-}
jar="bench/target${suffix}/benchmarks.jar"

if [ "$build" = 1 ]; then
    mvn -B -q -DskipTests "-Dbuild.suffix=${suffix}" package -pl bench -am
fi
[ -f "$jar" ] || { echo "run-main: $jar missing (run without --no-build)" >&2; exit 1; }

# The same flags as the parent pom's jvm.flags; the forked benchmark JVMs add them again from @Fork.
exec "$jdk/bin/java" --sun-misc-unsafe-memory-access=allow \
    --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED ${BENCH_JAVA_OPTS:-} \
    -cp "$jar" "$main" "$@"
