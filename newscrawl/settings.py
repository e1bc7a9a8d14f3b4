"""Scrapy settings for newscrawl. Every project setting starts with NEWSCRAWL_."""

from newscrawl.guard import DEFAULT_FORBIDDEN_NETWORKS as _default_forbidden_networks

BOT_NAME = "newscrawl"
SPIDER_MODULES = ["newscrawl.spiders"]
NEWSPIDER_MODULE = "newscrawl.spiders"
COMMANDS_MODULE = "newscrawl.commands"  # `scrapy crawl` with exit codes

# --- Who we are. Set NEWSCRAWL_CONTACT to a URL or e-mail address site owners can reach.
NEWSCRAWL_CONTACT = "https://example.invalid/newscrawl-contact"
USER_AGENT = None  # derived from NEWSCRAWL_CONTACT by newscrawl.middlewares.UserAgentFromContact
ROBOTSTXT_USER_AGENT = "newscrawl"

# --- Politeness by default.
ROBOTSTXT_OBEY = True
# Scrapy's robots middleware fetches and parses each host's robots.txt once; this parser
# (Scrapy's Protego one) also tells its Sitemap lines, which the spider follows.
ROBOTSTXT_PARSER = "newscrawl.middlewares.RobotsTxt"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Scrapy starts this many asyncio tasks for every response, however few items and requests
# its callback yields. Ours yield one article or a list of requests, and items from
# different responses go through the pipelines side by side anyway: Scrapy's default of
# 100 only costs the reactor ~1 ms of CPU per page.
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 0.5
DOWNLOAD_DELAY_JITTER = 0.5  # each wait is the delay ±50%
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# Crawl-delay from robots.txt is honoured by newscrawl.middlewares.RobotsCrawlDelay.
NEWSCRAWL_HONOUR_CRAWL_DELAY = True
NEWSCRAWL_MAX_CRAWL_DELAY = 60.0

# --- Limits: an unattended crawler reads the whole web.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 0  # section depth is bounded per outlet (Outlet.section_depth)

# --- Off: an HTTP endpoint that runs code, and the telnet console.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.telnet.TelnetConsole": None,
    # log_count/<LEVEL> per outlet: one crawler per outlet shares the process's log
    "scrapy.extensions.logcount.LogCount": None,
    "newscrawl.runlog.SpiderLogCount": 0,
    "newscrawl.runlog.OutletLogFile": 3,  # logs/<outlet>/<stamp>.log under `newscrawl crawl`
    "newscrawl.faults.FaultCheck": 5,  # output/state folders writable, the store answering
    "newscrawl.lock.OutletLockExtension": 10,
    "pipelines.pool.StartWorkerPool": 20,
    "newscrawl.runreport.RunReport": 500,
}

DOWNLOADER_MIDDLEWARES = {
    "newscrawl.middlewares.UserAgentFromContact": 50,
    # newscrawl.guard: what the crawler refuses to fetch or read (README, Security).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "newscrawl.guard.OutletScope": 52,  # Scrapy's offsite middleware, port-aware
    "newscrawl.guard.UrlTrapGuard": 54,
    "newscrawl.guard.PageBudget": 56,
    "newscrawl.guard.AddressGuard": 60,  # before robots.txt is fetched for a host
    "newscrawl.middlewares.RobotsCrawlDelay": 101,
    "newscrawl.guard.RetryAfter": 560,  # sees 429/503 before Scrapy's RetryMiddleware
    "newscrawl.incremental.ConditionalGet": 565,
    "newscrawl.guard.CharsetRepair": 585,  # responses pass these after decompression
    "newscrawl.guard.BinaryBodyGuard": 586,
    # Keeps each response as it came off the connection (before decompression and charset
    # repair; the redirects that led to it too) for the archive (newscrawl/archive.py).
    "newscrawl.archive.ArchiveCapture": 650,
    # Last before the downloader: holds new downloads while the worker pool is backlogged,
    # and keeps each outlet's downloader queue short (pipelines/pool.py).
    "pipelines.pool.DownloadBackpressure": 950,
    # Once a request is let in: no download outlasts the outlet's CLOSESPIDER_TIMEOUT.
    "newscrawl.guard.OutletTimeLimit": 960,
}
SPIDER_MIDDLEWARES = {
    "newscrawl.incremental.IncrementalSkip": 800,
    "newscrawl.archive.ArchiveArticles": 850,  # an article's item goes on once its response is archived
}

# --- The hostile web (newscrawl.guard). Addresses a request may not reach, whatever
# name leads there; NEWSCRAWL_ALLOWED_NETWORKS makes exceptions (e.g. "127.0.0.1/32").
NEWSCRAWL_FORBIDDEN_NETWORKS = list(_default_forbidden_networks)  # loopback, RFC 1918, link-local, ...
NEWSCRAWL_ALLOWED_NETWORKS = []
NEWSCRAWL_MAX_PAGES_PER_OUTLET = 50000  # fetches per crawl; 0: no limit
# Scrapy's own: an outlet's crawl is closed this many seconds after it opened (0: no
# limit); its downloads end by then too (newscrawl.guard.OutletTimeLimit). An outlet that
# hangs never holds a fleet past it, and an hourly cron run ends before the next begins.
CLOSESPIDER_TIMEOUT = 3000
NEWSCRAWL_RETRY_AFTER_MAX = 600.0  # a longer Retry-After gives up instead of waiting
NEWSCRAWL_BACKOFF_BASE = 5.0  # 429/503 without Retry-After: wait base * 2**attempt
NEWSCRAWL_TRAP_MAX_SEGMENTS = 20
NEWSCRAWL_TRAP_MAX_REPEATS = 3
NEWSCRAWL_TRAP_MAX_PAGE = 200
NEWSCRAWL_TRAP_MIN_YEAR = 1990

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.decruft.DecruftPipeline": 200,
    "pipelines.normalise.NormalisePipeline": 300,
    "pipelines.validate.ValidatePipeline": 400,
    "pipelines.dedupe.DedupePipeline": 500,
    "pipelines.write.WritePipeline": 900,
}

# --- Where things go.
NEWSCRAWL_OUTPUT_DIR = "output"
NEWSCRAWL_STATE_DIR = "state"
NEWSCRAWL_STATE_URL = ""  # empty: SQLite files in NEWSCRAWL_STATE_DIR; or redis://host:port/db
NEWSCRAWL_OUTLETS_DIR = ""  # empty: the records shipped in newscrawl/outlets/
NEWSCRAWL_LOG_DIR = "logs"  # `newscrawl crawl` writes logs/<outlet>/<UTC timestamp>.log
# Set by `newscrawl crawl` for its crawl process: the run's UTC timestamp (each outlet then
# logs to NEWSCRAWL_LOG_DIR/<outlet>/<stamp>.log, newscrawl/runlog.py), and whether each
# outlet's end is said on stdout as a line for it to read.
NEWSCRAWL_RUN_STAMP = ""
NEWSCRAWL_FLEET_REPORT = False

# --- Workers on several machines (newscrawl/cluster.py, `newscrawl worker`). The broker's
# URL, the seconds after which a task whose worker died is run again (Redis broker), the
# queue, and the prefix of every Redis key newscrawl writes (state, leases, status, a
# Redis broker's queues): each is also read from the environment variable of its name
# (a -s setting wins). NEWSCRAWL_OUTLETS_PER_TASK: outlets per task `newscrawl enqueue`
# and `newscrawl schedule` send (each task is one crawl process on a worker).
NEWSCRAWL_BROKER_URL = "redis://127.0.0.1:6379/0"
NEWSCRAWL_TASK_VISIBILITY_TIMEOUT = 3600
NEWSCRAWL_QUEUE = "newscrawl"
NEWSCRAWL_REDIS_PREFIX = "newscrawl"
NEWSCRAWL_OUTLETS_PER_TASK = 20
# A crawl's lease on its outlet across machines (newscrawl/lease.py): taken in Redis at
# NEWSCRAWL_CLUSTER_LOCK_URL when set (a worker sets it for its crawls), renewed every
# third of NEWSCRAWL_CLUSTER_LOCK_TTL seconds, lost that long after a crawl died.
# NEWSCRAWL_CLUSTER_WORKER and NEWSCRAWL_CLUSTER_TASK name the holder (set by the worker).
NEWSCRAWL_CLUSTER_LOCK_URL = ""
NEWSCRAWL_CLUSTER_LOCK_TTL = 60
NEWSCRAWL_CLUSTER_WORKER = ""
NEWSCRAWL_CLUSTER_TASK = ""

# --- The archive (newscrawl/archive.py): every response received for an article page, as
# WARC 1.1 request and response records in NEWSCRAWL_ARCHIVE_DIR/<outlet>/<UTC run
# stamp>-<seq>.warc.gz; with NEWSCRAWL_ARCHIVE_ALL, every response the spider gets
# (robots.txt, sitemaps, feeds, section pages too). A new file is started before one would
# grow past NEWSCRAWL_ARCHIVE_MAX_BYTES.
NEWSCRAWL_ARCHIVE = True
NEWSCRAWL_ARCHIVE_DIR = "archive"
NEWSCRAWL_ARCHIVE_ALL = False
NEWSCRAWL_ARCHIVE_MAX_BYTES = 1_000_000_000

# --- Cron-grade runs (newscrawl/ledger.py, incremental.py, lock.py, runreport.py).
NEWSCRAWL_INCREMENTAL = True  # skip articles already written (or dropped) unless they changed
NEWSCRAWL_RECHECK_AFTER = 0  # seconds; > 0: refetch known articles this old with a conditional GET
NEWSCRAWL_HEALTH_WINDOW = 5  # earlier run reports the health check compares against
# Retention (newscrawl/retention.py): at the end of a run, the outlet's logs and run reports
# older than this many days are deleted (0: kept for ever); the newest
# NEWSCRAWL_HEALTH_WINDOW of each are always kept.
NEWSCRAWL_KEEP_LOGS_DAYS = 90
NEWSCRAWL_KEEP_REPORTS_DAYS = 90
# SQLite state files are compacted (VACUUM) when a store is closed and more than a quarter
# of the file, and more than NEWSCRAWL_STATE_COMPACT_MIN_BYTES, is free pages.
NEWSCRAWL_STATE_COMPACT = True
NEWSCRAWL_STATE_COMPACT_MIN_BYTES = 1048576
# Page cache of each SQLite state connection, in KiB (SQLite's default: 2,000). A fleet
# crawl holds one connection per outlet (and one for the global dedupe state); pages not
# cached come from the operating system's file cache. 0: SQLite's default.
NEWSCRAWL_STATE_CACHE_KIB = 256
# SIGTERM / SIGINT: seconds a crawl may take to stop gracefully before it is killed with
# its pool (newscrawl/stop.py). The environment variable of the same name also sets it.
NEWSCRAWL_STOP_TIMEOUT = 30

# --- Discovery. With a positive value, sitemap and feed entries (and archive sitemaps)
# dated more than this many days ago are not followed: a first crawl of a big outlet
# fetches its recent news, not its whole archive. 0: no limit.
NEWSCRAWL_MAX_AGE_DAYS = 0

# --- The article gate.
NEWSCRAWL_MIN_ARTICLE_CHARS = 400
# A page's scripts longer than this (bytes) are not read for the article a JavaScript
# page carries as data (newscrawl/page_data.py), by the gate or the extract stage.
NEWSCRAWL_PAGE_DATA_MAX_BYTES = 2_000_000

# --- Rendering (newscrawl/render.py), for outlets whose record says `render`: Chromium's
# path (the environment variable of the same name also sets it), a page's load time, the
# time its scripts get for the network to go quiet, pages open at once, the kinds of
# resource never loaded, and whether a page may fetch from hosts other than the outlet's.
NEWSCRAWL_CHROMIUM_PATH = ""  # empty: $NEWSCRAWL_CHROMIUM_PATH, else /usr/bin/chromium
NEWSCRAWL_RENDER_TIMEOUT = 30
NEWSCRAWL_RENDER_SETTLE = 3
NEWSCRAWL_RENDER_MAX_PAGES = 2
NEWSCRAWL_RENDER_BLOCKED_RESOURCES = ["image", "media", "font"]
NEWSCRAWL_RENDER_OTHER_HOSTS = True  # False: a rendered page fetches from the outlet's domains only

# --- Cruft removal (pipelines/decruft.py).
NEWSCRAWL_AUDIT_CRUFT = False  # each record's cleaning.removed_text lists what was removed
NEWSCRAWL_AUDIT_CRUFT_FILE = False  # output/<outlet>/cruft/<YYYY-MM-DD>/: removed texts by article
NEWSCRAWL_BOILERPLATE_PRUNE_AFTER = 5000  # pages after which learned rows that never mattered are dropped

LOG_LEVEL = "INFO"
# Dropped or failed items are logged by their URL, not printed whole (their HTML).
LOG_FORMATTER = "newscrawl.logformatter.ArticleLogFormatter"
FEED_EXPORT_ENCODING = "utf-8"
