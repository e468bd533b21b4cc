package org.polypi.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import org.polypi.engine.net.ServerService;
import org.polypi.engine.transport.Party;
import org.polypi.model.ModelFormat;
import org.polypi.model.ModelGraph;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code polypi server}: serves private inference of one model to many clients. */
@Command(name = "server", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve private inference of a model: clients connect here, the dealer is dialled per session.",
        "Each session: the client's request, the set-up (weights opened masked), the queries. Many sessions at once " +
            "(--max-sessions), more waiting (--max-queued); a failed session never stops the server.",
        "Give clients and the dealer the model's public description (--write-public): weights never leave here."})
final class ServerCommand implements Callable<Integer>
{
    @ParentCommand
    Main main;

    @Option(names = "--model", paramLabel = "FILE", required = true, description = "The model file (.pim).")
    Path model;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "0.0.0.0:7000",
        description = "Where clients connect (default: ${DEFAULT-VALUE}; port 0: any free port, printed).")
    String listen;

    @Option(names = "--dealer", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7100",
        description = "The dealer (default: ${DEFAULT-VALUE}).")
    String dealer;

    @Option(names = "--bits", paramLabel = "F", description = "Fixed-point fractional bits (default: the model's).")
    Integer bits;

    @Option(names = "--write-public", paramLabel = "FILE",
        description = "Write the model's public description (no weights) for the client and the dealer, then serve.")
    Path writePublic;

    @Mixin
    NetworkOptions network;

    @Mixin
    ServiceCommandSupport service;

    @Override
    public Integer call() throws Exception
    {
        final ModelGraph graph = Models.read("--model", model);
        final int f = Models.bits(bits, graph);
        final Consumer<String> log = ServiceCommandSupport.log(main.out(), "server");
        final ServerService s = ServerService.start(graph, f, NetworkOptions.address("--listen", listen, "0.0.0.0"),
            NetworkOptions.address("--dealer", dealer, "127.0.0.1"),
            service.options(network.tcp(Party.SERVER), network.profile(), log));
        try
        {
            if (writePublic != null)
            {
                ModelFormat.write(s.publicModel(), writePublic);
                log.accept("public description written to " + writePublic);
            }
            log.accept("listening on " + hostPort(s.address()) + ", dealer " + dealer + ", model " +
                graph.header().architecture() + " f=" + f + ", plan " + s.model().plan().hashHex().substring(0, 16) +
                ", " + network.security() + ", profile " + network.profile().name());
        }
        catch (final Exception e)
        {
            s.close();
            throw e;
        }
        ServiceCommandSupport.serve(s, service, () -> s.completed() + s.failed(), log);
        return 0;
    }

    static String hostPort(final InetSocketAddress a)
    {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }
}
