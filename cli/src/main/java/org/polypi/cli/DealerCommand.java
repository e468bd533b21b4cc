package org.polypi.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import org.polypi.engine.net.DealerService;
import org.polypi.engine.transport.Party;
import org.polypi.model.ModelGraph;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code polypi dealer}: the non-colluding third party that deals correlated randomness per session. */
@Command(name = "dealer", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Deal the correlated randomness of private inference: the server and the client of each session " +
        "dial here; every session gets its own dealer stream (fresh seeds).",
        "Needs only the model's public description (polypi server --write-public, or polypi inspect --write-public)."})
final class DealerCommand implements Callable<Integer>
{
    @ParentCommand
    Main main;

    @Option(names = "--model", paramLabel = "FILE", required = true,
        description = "The model's public description (a full model file works too; only its public part is used).")
    Path model;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "0.0.0.0:7100",
        description = "Where the server and the clients connect (default: ${DEFAULT-VALUE}; port 0: any free " +
            "port, printed).")
    String listen;

    @Option(names = "--bits", paramLabel = "F", description = "Fixed-point fractional bits (default: the model's).")
    Integer bits;

    @Mixin
    NetworkOptions network;

    @Mixin
    ServiceCommandSupport service;

    @Override
    public Integer call() throws Exception
    {
        final ModelGraph graph = Models.read("--model", model);
        final int f = Models.bits(bits, graph);
        final Consumer<String> log = ServiceCommandSupport.log(main.out(), "dealer");
        final DealerService d = DealerService.start(graph, f, NetworkOptions.address("--listen", listen, "0.0.0.0"),
            service.options(network.tcp(Party.DEALER), network.profile(), log));
        log.accept("listening on " + ServerCommand.hostPort(d.address()) + ", model " +
            graph.header().architecture() + " f=" + f + ", plan " + d.plan().hashHex().substring(0, 16) + ", " +
            network.security() + ", profile " + network.profile().name());
        ServiceCommandSupport.serve(d, service, () -> d.completed() + d.failed(), log);
        return 0;
    }
}
