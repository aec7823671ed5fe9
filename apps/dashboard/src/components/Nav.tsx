// The main navigation: one link per page, exact French names, the current one marked.
import { useEffect, useRef } from "react";
import { PAGES } from "../labels";

export function Nav({ route }: { route: string }) {
  const ref = useRef<HTMLElement>(null);
  // On a phone the links scroll sideways: keep the current one in sight.
  useEffect(() => {
    const a = ref.current?.querySelector<HTMLElement>('[aria-current="page"]');
    a?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
  }, [route]);
  return (
    <nav
      ref={ref} aria-label="Navigation principale" className="border-b border-slate-200 bg-white md:border-b-0 md:border-r md:bg-transparent">
      <ul className="flex gap-1 overflow-x-auto px-2 py-2 md:flex-col md:overflow-visible md:px-0">
        {PAGES.map((p) => {
          const current = p.route === route;
          return (
            <li key={p.hash} className="shrink-0">
              <a
                href={p.hash}
                aria-current={current ? "page" : undefined}
                className={`flex min-h-11 items-center whitespace-nowrap rounded-lg px-3 py-2 text-base font-medium ${
                  current ? "bg-teal-700 text-white" : "text-slate-800 hover:bg-slate-100"
                }`}
              >
                {p.name}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
