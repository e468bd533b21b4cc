package org.polypi.datasets;

import java.io.IOException;
import java.io.Serial;

/**
 * A data set's files are not where they were looked for. The message lists the places searched and says exactly how
 * to install the data or point the loader at it.
 */
public final class DatasetNotFoundException extends IOException
{
    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * @param message where the data was looked for and how to provide it.
     */
    public DatasetNotFoundException(final String message)
    {
        super(message);
    }
}
