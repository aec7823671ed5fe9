// A page's <h1>; it takes the focus when the route changes so that screen readers follow.
import { useEffect, useRef } from "react";

let firstRender = true;

export function PageTitle({ children }: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstRender) {
      firstRender = false;
      return;
    }
    ref.current?.focus({ preventScroll: false });
  }, [children]);
  return (
    <h1 ref={ref} tabIndex={-1} className="mb-4 text-2xl font-bold text-slate-900 focus:outline-none">
      {children}
    </h1>
  );
}
